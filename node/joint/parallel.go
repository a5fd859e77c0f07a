package joint

import (
	"runtime"
	"sync"
)

// parallelFor runs f(0..n-1) on GOMAXPROCS goroutines and returns the first error.
func parallelFor(n int, f func(i int) error) error {
	w := min(runtime.GOMAXPROCS(0), n)
	if w <= 1 {
		for i := range n {
			if err := f(i); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for s := range w {
		wg.Go(func() {
			for i := s; i < n; i += w {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}
