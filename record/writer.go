package record

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
)

// ErrFull is returned by Writer.Write when the file reached MaxSize and no
// rotation is allowed (Rotate 0): the recording stops rather than grow.
var ErrFull = errors.New("record: file reached its maximum size")

// WriterOptions configure a Writer.
type WriterOptions struct {
	// Path is the file recorded to; rotated files are Path.1 (newest) to
	// Path.N.
	Path string
	// MaxSize bounds each file in bytes (0: unbounded). A file is rotated
	// before a chunk would take it past MaxSize.
	MaxSize int64
	// Rotate is how many rotated files are kept; the oldest is deleted.
	// With 0 a full file ends the recording (ErrFull). Disk use is at most
	// (Rotate+1) * MaxSize.
	Rotate int
	// Header starts every file (the text format's "# tracer: nop").
	Header []byte
	// ChunkSize is how much is buffered before one write(2) and fsync
	// (0: 64 KiB). A power cut loses at most the chunk not yet written.
	ChunkSize int
	// NoSync skips the fsync after each chunk (tests, tmpfs).
	NoSync bool
}

// Writer writes whole records to a file in chunks, rotating it by size.
// Records are never split across chunks or files, so a file cut short by a
// power loss ends in a partial record only if the cut tore the last write,
// and every record before it is whole. Write, Flush, Reopen and Close are
// safe for concurrent use (Reopen comes from a signal handler goroutine).
type Writer struct {
	mu   sync.Mutex
	o    WriterOptions
	f    *os.File
	size int64 // bytes in the current file
	buf  []byte
	// Rotations counts rotated files.
	rotations int
}

// NewWriter opens (appending) or creates o.Path.
func NewWriter(o WriterOptions) (*Writer, error) {
	if o.ChunkSize <= 0 {
		o.ChunkSize = 64 << 10
	}
	if o.MaxSize < 0 || o.Rotate < 0 {
		return nil, fmt.Errorf("record: negative size or rotation count")
	}
	if o.MaxSize > 0 && int64(len(o.Header)) >= o.MaxSize {
		return nil, fmt.Errorf("record: maximum size %d is smaller than the file header", o.MaxSize)
	}
	w := &Writer{o: o, buf: make([]byte, 0, o.ChunkSize)}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) open() error {
	f, err := os.OpenFile(w.o.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("record: %w", err)
	}
	w.f, w.size = f, st.Size()
	if w.size == 0 && len(w.o.Header) > 0 {
		if err := w.writeChunk(w.o.Header); err != nil {
			return err
		}
	}
	return nil
}

// Write buffers one whole record (a line). It writes the buffered chunk
// first when the record would not fit in it.
func (w *Writer) Write(rec []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return 0, os.ErrClosed
	}
	if w.o.MaxSize > 0 && int64(len(w.o.Header)+len(rec)) > w.o.MaxSize {
		return 0, fmt.Errorf("record: a record of %d bytes does not fit a file of at most %d", len(rec), w.o.MaxSize)
	}
	if len(w.buf)+len(rec) > w.o.ChunkSize {
		if err := w.flush(); err != nil {
			return 0, err
		}
	}
	// The chunk must also fit the file: rotate before it would not.
	if w.o.MaxSize > 0 && w.size+int64(len(w.buf)+len(rec)) > w.o.MaxSize {
		if err := w.flush(); err != nil {
			return 0, err
		}
		if err := w.rotate(); err != nil {
			return 0, err
		}
	}
	w.buf = append(w.buf, rec...)
	return len(rec), nil
}

// Flush writes the buffered records with one write(2) and syncs the file.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flush()
}

func (w *Writer) flush() error {
	if len(w.buf) == 0 || w.f == nil {
		return nil
	}
	err := w.writeChunk(w.buf)
	w.buf = w.buf[:0]
	return err
}

func (w *Writer) writeChunk(b []byte) error {
	n, err := w.f.Write(b)
	w.size += int64(n)
	if err != nil {
		return fmt.Errorf("record: writing %s: %w", w.o.Path, err)
	}
	if !w.o.NoSync {
		// fdatasync: the data and the size; a power cut after this keeps
		// the chunk.
		if err := w.f.Sync(); err != nil {
			return fmt.Errorf("record: syncing %s: %w", w.o.Path, err)
		}
	}
	return nil
}

// rotate renames Path to Path.1 (shifting older ones up, dropping the one
// past Rotate) and starts a new Path.
func (w *Writer) rotate() error {
	if w.o.Rotate == 0 {
		return ErrFull
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	w.f = nil
	name := func(i int) string { return w.o.Path + "." + strconv.Itoa(i) }
	os.Remove(name(w.o.Rotate))
	for i := w.o.Rotate - 1; i >= 1; i-- {
		if err := os.Rename(name(i), name(i+1)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("record: rotating: %w", err)
		}
	}
	if err := os.Rename(w.o.Path, name(1)); err != nil {
		return fmt.Errorf("record: rotating: %w", err)
	}
	w.rotations++
	return w.open()
}

// Reopen flushes and reopens Path, for logrotate (SIGHUP): after the file
// was moved away, records go to a new file at Path.
func (w *Writer) Reopen() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return os.ErrClosed
	}
	if err := w.flush(); err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	w.f = nil
	return w.open()
}

// Rotations is the number of files rotated so far.
func (w *Writer) Rotations() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rotations
}

// Close flushes and closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.flush()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	return err
}
