package script_test

import (
	"fmt"
	"os"

	"github.com/tracelet/tracelet/script"
)

func ExampleParse() {
	prog, err := script.Parse("-e", []byte(`kprobe:do_nanosleep { printf("PID %d sleeping...\n", pid); }`))
	if err != nil {
		fmt.Println(err)
		return
	}
	script.Fprint(os.Stdout, prog)
	// Output:
	// Program
	//  kprobe:do_nanosleep
	//   call: printf
	//    string: "PID %d sleeping...\n"
	//    builtin: pid
}

func ExampleParse_error() {
	_, err := script.Parse("-e", []byte(`BEGIN { printf("%d\n", pidd); }`))
	fmt.Println(err)
	// Output:
	// -e:1:24: unknown builtin "pidd"; did you mean "pid"?
	// BEGIN { printf("%d\n", pidd); }
	//                        ^
}

func ExampleCheck() {
	prog, _ := script.Parse("-e", []byte(`kprobe:vfs_read { @x = retval; }`))
	_, err := script.Check(prog, script.CheckOptions{})
	fmt.Println(err)
	// Output:
	// -e:1:24: retval is only valid in kretprobe, uretprobe and fexit probes (in probe kprobe:vfs_read)
	// kprobe:vfs_read { @x = retval; }
	//                        ^
}

func ExampleCompileSource() {
	obj, err := script.CompileSource("-e", []byte(`BEGIN { @ = count(); }`), script.CheckOptions{}, script.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range obj.Maps {
		fmt.Println(m.Spec.Name, m.Spec.Type, m.Info)
	}
	fmt.Println(len(obj.Programs), obj.Programs[0].Type)
	// Output:
	// m0 percpu_array @: count
	// 1 kprobe
}
