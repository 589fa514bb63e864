//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package btf

import "io"

func mapFile(path string) ([]byte, io.Closer, error) {
	return readFile(path)
}
