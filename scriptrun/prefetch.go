package scriptrun

import (
	"sync"

	"github.com/tracelet/tracelet/btf"
)

// loadedBTF is the result of loading a BTF file in the background.
type loadedBTF struct {
	spec *btf.Spec
	err  error
}

// loadBTF starts loading the BTF at path and returns where its result
// arrives.
func loadBTF(path string) chan loadedBTF {
	c := make(chan loadedBTF, 1)
	go func() {
		spec, err := btf.LoadFile(path)
		c <- loadedBTF{spec, err}
	}()
	return c
}

var prefetch struct {
	sync.Mutex
	path string
	c    chan loadedBTF
}

// PrefetchKernelBTF starts loading the running kernel's BTF, for a command
// about to call Prepare: mapping it and reading its first types then
// overlaps the command line's parsing (a cold process spends 0.2 to 0.4 ms
// there). The first Prepare that wants that file takes it; one that wants
// another (--btf FILE) closes it.
func PrefetchKernelBTF() {
	prefetch.Lock()
	defer prefetch.Unlock()
	if prefetch.c == nil {
		prefetch.path, prefetch.c = btf.KernelPath, loadBTF(btf.KernelPath)
	}
}

// takeBTF returns where the BTF at path arrives: the prefetched load when
// it is of that file, else a load started now.
func takeBTF(path string) chan loadedBTF {
	prefetch.Lock()
	c, p := prefetch.c, prefetch.path
	prefetch.c = nil
	prefetch.Unlock()
	if c != nil && p == path {
		return c
	}
	if c != nil {
		go func() {
			if l := <-c; l.spec != nil {
				l.spec.Close()
			}
		}()
	}
	return loadBTF(path)
}
