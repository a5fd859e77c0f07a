-- One role and one database per node. Run once by the postgres image's
-- entrypoint (docker-entrypoint-initdb.d) on an empty data directory, as the
-- superuser. The password comes from CREDITNODE_DB_PASSWORD in the container's
-- environment (psql's \getenv; the script stops if it is unset).
\set ON_ERROR_STOP on
\getenv node_password CREDITNODE_DB_PASSWORD
\if :{?node_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'CREDITNODE_DB_PASSWORD is not set'; END $$;
\endif

CREATE ROLE bank_a LOGIN PASSWORD :'node_password';
CREATE ROLE tax_dept LOGIN PASSWORD :'node_password';
CREATE ROLE market_reg LOGIN PASSWORD :'node_password';

-- Each database is owned by its node's role, so the node's migrations can
-- create their tables in its public schema (owned by pg_database_owner).
CREATE DATABASE bank_a OWNER bank_a;
CREATE DATABASE tax_dept OWNER tax_dept;
CREATE DATABASE market_reg OWNER market_reg;

-- No node may connect to another node's database.
REVOKE CONNECT, TEMPORARY ON DATABASE bank_a FROM PUBLIC;
REVOKE CONNECT, TEMPORARY ON DATABASE tax_dept FROM PUBLIC;
REVOKE CONNECT, TEMPORARY ON DATABASE market_reg FROM PUBLIC;
