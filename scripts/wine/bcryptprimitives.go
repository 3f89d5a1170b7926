//go:build ignore

// bcryptprimitives.go writes a bcryptprimitives.dll for Wine releases
// before 8.13, which have none: a Go program for Windows (Go 1.24 on)
// loads it at start-up for ProcessPrng, its source of random bytes, and
// dies with "fatal error: bcryptprimitives.dll not found" without it.
// The DLL holds no code: its one export forwards ProcessPrng to
// advapi32's SystemFunction036 (RtlGenRandom), which Wine has long had
// and which takes the same arguments (buffer, length) and answers the
// same way (nonzero on success). scripts/wine-test.sh puts it in the Wine
// prefix's system32; it is for tests under Wine only.
//
// Usage: go run scripts/wine/bcryptprimitives.go -o PATH

package main

import (
	"encoding/binary"
	"flag"
	"log"
	"os"
)

func main() {
	out := flag.String("o", "bcryptprimitives.dll", "output")
	flag.Parse()
	if err := os.WriteFile(*out, dll(), 0o644); err != nil {
		log.Fatal(err)
	}
}

const (
	fileAlign = 0x200
	sectAlign = 0x1000
	edataRVA  = 0x1000
)

func dll() []byte {
	// .edata: the export directory and what it points to.
	var ed []byte
	le := binary.LittleEndian
	put32 := func(b []byte, v uint32) []byte { return le.AppendUint32(b, v) }
	const (
		dirSize  = 40
		eatOff   = dirSize
		namesOff = eatOff + 4
		ordsOff  = namesOff + 4
		strOff   = ordsOff + 4 // 2 bytes of ordinal, 2 of padding
	)
	dllName := "bcryptprimitives.dll\x00"
	fn := "ProcessPrng\x00"
	fwd := "advapi32.SystemFunction036\x00"
	dllNameRVA := uint32(edataRVA + strOff)
	fnRVA := dllNameRVA + uint32(len(dllName))
	fwdRVA := fnRVA + uint32(len(fn))
	ed = put32(ed, 0)          // Characteristics
	ed = put32(ed, 0)          // TimeDateStamp
	ed = put32(ed, 0)          // Major, MinorVersion
	ed = put32(ed, dllNameRVA) // Name
	ed = put32(ed, 1)          // Base
	ed = put32(ed, 1)          // NumberOfFunctions
	ed = put32(ed, 1)          // NumberOfNames
	ed = put32(ed, edataRVA+eatOff)
	ed = put32(ed, edataRVA+namesOff)
	ed = put32(ed, edataRVA+ordsOff)
	ed = put32(ed, fwdRVA)      // the one function: a forwarder, its RVA inside the directory
	ed = put32(ed, fnRVA)       // its name
	ed = le.AppendUint16(ed, 0) // its ordinal index
	ed = le.AppendUint16(ed, 0)
	ed = append(ed, dllName...)
	ed = append(ed, fn...)
	ed = append(ed, fwd...)
	edSize := uint32(len(ed))
	raw := make([]byte, fileAlign)
	copy(raw, ed)

	h := make([]byte, 0, fileAlign)
	// DOS header: "MZ", e_lfanew at 0x3c.
	dos := make([]byte, 64)
	copy(dos, "MZ")
	le.PutUint32(dos[0x3c:], 64)
	h = append(h, dos...)
	h = append(h, "PE\x00\x00"...)
	// COFF header.
	h = le.AppendUint16(h, 0x8664) // AMD64
	h = le.AppendUint16(h, 1)      // sections
	h = put32(h, 0)
	h = put32(h, 0)
	h = put32(h, 0)
	h = le.AppendUint16(h, 240)    // optional header size
	h = le.AppendUint16(h, 0x2022) // EXECUTABLE_IMAGE | LARGE_ADDRESS_AWARE | DLL
	// Optional header, PE32+.
	h = le.AppendUint16(h, 0x20b)
	h = append(h, 14, 0) // linker version
	h = put32(h, 0)      // SizeOfCode
	h = put32(h, fileAlign)
	h = put32(h, 0)
	h = put32(h, 0) // AddressOfEntryPoint: none
	h = put32(h, edataRVA)
	h = le.AppendUint64(h, 0x7ff5_2000_0000) // ImageBase
	h = put32(h, sectAlign)
	h = put32(h, fileAlign)
	h = le.AppendUint16(h, 6) // OS version
	h = le.AppendUint16(h, 0)
	h = le.AppendUint16(h, 0) // image version
	h = le.AppendUint16(h, 0)
	h = le.AppendUint16(h, 6) // subsystem version
	h = le.AppendUint16(h, 0)
	h = put32(h, 0)
	h = put32(h, edataRVA+sectAlign) // SizeOfImage
	h = put32(h, fileAlign)          // SizeOfHeaders
	h = put32(h, 0)                  // CheckSum
	h = le.AppendUint16(h, 3)        // console
	h = le.AppendUint16(h, 0x100)    // NX_COMPAT
	h = le.AppendUint64(h, 0x100000)
	h = le.AppendUint64(h, 0x1000)
	h = le.AppendUint64(h, 0x100000)
	h = le.AppendUint64(h, 0x1000)
	h = put32(h, 0)
	h = put32(h, 16)
	for i := 0; i < 16; i++ {
		if i == 0 {
			h = put32(h, edataRVA)
			h = put32(h, edSize)
			continue
		}
		h = put32(h, 0)
		h = put32(h, 0)
	}
	// Section header.
	h = append(h, ".edata\x00\x00"...)
	h = put32(h, edSize)
	h = put32(h, edataRVA)
	h = put32(h, fileAlign)
	h = put32(h, fileAlign)
	h = put32(h, 0)
	h = put32(h, 0)
	h = le.AppendUint16(h, 0)
	h = le.AppendUint16(h, 0)
	h = put32(h, 0x40000040) // INITIALIZED_DATA | MEM_READ
	hdr := make([]byte, fileAlign)
	copy(hdr, h)
	return append(hdr, raw...)
}
