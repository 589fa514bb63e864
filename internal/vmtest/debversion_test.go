package vmtest

import (
	"strings"
	"testing"
)

func TestCompareDebVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"6.1.192-2", "6.1.192-2", 0},
		{"6.1.176-1", "6.1.192-2", -1},
		{"6.1.9-1", "6.1.10-1", -1}, // numerically, not as text
		{"6.12.117-1~deb12u1", "6.12.117-1", -1},
		{"6.12.90-1~deb12u1", "6.12.90-1~deb12u1.1", -1},
		{"1:1.35.0-4", "1.36.0-1", 1}, // epoch wins
		{"1.0~rc1", "1.0", -1},        // ~ sorts before the end
		{"1.0", "1.0a", -1},
		{"1.0a", "1.0+", -1}, // letters before other characters
		{"1.0-1", "1.0", 1},
		{"007", "7", 0},
		{"1.99999999999999999999", "1.100000000000000000000", -1}, // no overflow
	} {
		if got := compareDebVersions(c.a, c.b); got != c.want {
			t.Errorf("compare(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := compareDebVersions(c.b, c.a); got != -c.want {
			t.Errorf("compare(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

func TestParseStanzas(t *testing.T) {
	out := []byte("Package: linux-image-6.1.0-55-cloud-amd64\nSource: linux-signed-amd64 (6.1.190+1)\nVersion: 6.1.190-1\nArchitecture: amd64\nDescription: x\n multi-line\n\nPackage: linux-image-6.1.0-56-cloud-amd64\nVersion: 6.1.192-2\nArchitecture: amd64\n\n")
	got := parseStanzas(out)
	if len(got) != 2 || got[1].Name != "linux-image-6.1.0-56-cloud-amd64" || got[1].Version != "6.1.192-2" || got[0].Arch != "amd64" {
		t.Fatalf("parseStanzas = %+v", got)
	}
}

func TestPackagePattern(t *testing.T) {
	k61, _ := lookupKernel("6.1-amd64")
	k612, _ := lookupKernel("6.12-amd64")
	karm, _ := lookupKernel("6.1-arm64")
	k386, _ := lookupKernel("6.1-i386")
	karmhf := Kernel{Name: "6.1-armhf", Series: "6.1", Arch: "armhf", Flavour: "armmp"}
	krv := Kernel{Name: "6.12-riscv64", Series: "6.12", Arch: "riscv64", Flavour: "riscv64"}
	kmips := Kernel{Name: "6.1-mipsel", Series: "6.1", Arch: "mipsel", Flavour: "4kc-malta"}
	for _, c := range []struct {
		k    Kernel
		name string
		want bool
	}{
		{k61, "linux-image-6.1.0-56-cloud-amd64", true},
		{k61, "linux-image-6.1.0-56-cloud-amd64-unsigned", false},
		{k61, "linux-image-6.1.0-56-cloud-amd64-dbg", false},
		{k61, "linux-image-6.12.117+deb12-cloud-amd64", false},
		{k61, "linux-image-6.1.0-56-amd64", false},
		{k61, "linux-image-cloud-amd64", false},
		{k612, "linux-image-6.12.117+deb12-cloud-amd64", true},
		{k612, "linux-image-6.12.90+deb12.1-cloud-amd64", true},
		{k612, "linux-image-6.12-cloud-amd64", false},
		{k612, "linux-image-6.1.0-56-cloud-amd64", false},
		{karm, "linux-image-6.1.0-56-cloud-arm64", true},
		{karm, "linux-image-6.1.0-56-cloud-amd64", false},
		{karm, "linux-image-6.1.0-56-arm64", false},
		{k386, "linux-image-6.1.0-41-686-pae", true},
		{k386, "linux-image-6.1.0-41-686-pae-unsigned", false},
		{k386, "linux-image-6.1.0-41-686", false},
		{k386, "linux-image-6.1.0-41-rt-686-pae", false},
		{k386, "linux-image-6.1.0-41-686-pae-dbg", false},
		{k386, "linux-image-686-pae", false},
		{karmhf, "linux-image-6.1.0-41-armmp", true},
		{karmhf, "linux-image-6.1.0-41-armmp-lpae", false},
		{karmhf, "linux-image-6.1.0-41-rt-armmp", false},
		{karmhf, "linux-image-6.12.57+deb13-armmp", false},
		{krv, "linux-image-6.12.57+deb13-riscv64", true},
		{krv, "linux-image-6.12.57+deb13-riscv64-dbg", false},
		{krv, "linux-image-6.12-riscv64", false},
		{krv, "linux-image-riscv64", false},
		{kmips, "linux-image-6.1.0-41-4kc-malta", true},
		{kmips, "linux-image-6.1.0-41-5kc-malta", false},
		{kmips, "linux-image-6.1.0-41-mips32r2el", false},
	} {
		if got := c.k.PackagePattern().MatchString(c.name); got != c.want {
			t.Errorf("%s pattern on %s = %v, want %v", c.k.Name, c.name, got, c.want)
		}
	}
}

func TestLookupKernels(t *testing.T) {
	all, err := LookupKernels("all")
	if err != nil || len(all) != len(Kernels()) {
		t.Fatalf("all: %v %v", all, err)
	}
	two, err := LookupKernels("6.1-arm64, 6.1-amd64")
	if err != nil || len(two) != 2 || two[0].Arch != "arm64" {
		t.Fatalf("two: %v %v", two, err)
	}
	if _, err := LookupKernels("4.19-amd64"); err == nil {
		t.Fatal("unknown kernel accepted")
	}
	for _, k := range kernels {
		if _, err := archOf(k.Arch); err != nil {
			t.Errorf("%s: %v", k.Name, err)
		}
		if k.Flavour == "" || !k.PackagePattern().MatchString("linux-image-"+k.Series+".0-1-"+k.Flavour) {
			t.Errorf("%s: flavour %q does not match its own ABI-numbered package", k.Name, k.Flavour)
		}
	}
}

// TestArchGoEnv: a Debian architecture builds with the GOARCH (and GOARM,
// GOMIPS) of release.mk's target of the same machine.
func TestArchGoEnv(t *testing.T) {
	for arch, want := range map[string]string{
		"amd64":   "GOARCH=amd64",
		"i386":    "GOARCH=386",
		"armhf":   "GOARCH=arm GOARM=7",
		"riscv64": "GOARCH=riscv64",
		"mipsel":  "GOARCH=mipsle GOMIPS=softfloat",
	} {
		a, err := archOf(arch)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(a.goEnv()[2:], " "); got != want {
			t.Errorf("%s: %s, want %s", arch, got, want)
		}
	}
	if a, _ := archOf("armhf"); a.release != "armv7" {
		t.Errorf("armhf release binary tracelet-linux-%s, want armv7", a.release)
	}
}
