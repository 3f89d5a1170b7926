package fsstore

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// The marker's "encrypted 1" line is not authenticated (a host without
// keys must read it), so someone who can write the mount can remove it, or
// the whole marker, and a host started without keys then opened the store
// and wrote, and served, plaintext sessions until a keyed host's save put
// the line back (keepMarkedEncrypted): never, on a store where no keyed
// host saves. The line is not the only sign, though. Only an application
// host opened with keys writes the key files at the store's top (a key's
// check file, .keycheck-ID, before its first save; .keynewest-ID and the
// .keyorder-N sequence when a key becomes newest), and nothing of sessfs
// removes them. So a keyless store takes any of them for the marking, at
// Open and at each re-read of the marker: the writer has to remove every
// one of them as well, which a keyed host's save undoes within a minute
// (keepKeyChecks), check files and marker line alike.
//
// An encrypted record is no such sign by itself: one under a key no
// application host has had (no check file, no .keynewest-ID) is a forgery
// to a keyless host as to a keyed one (keyNeverHad), and one under a key
// that has a file there is already caught by the file. Finding one would
// also cost a walk of the shards, not a listing of one small directory.

// keyFileIn returns the name of a key file at the top of the store dir
// (see isKeyFile), the first in name order, so that a check file, the
// file the hosts keep, is the one named where there is one; "" where
// there is none. A read of the listing that fails is returned: a store
// whose top cannot be listed could hold one. On NFS (nfs), the client is
// made to fetch dir's attributes first, so that a file another host
// created since this client last listed the directory is not missed.
func keyFileIn(dir string, nfs bool) (string, error) {
	if nfs {
		if err := forceGetattr(dir, statxRefused()); err != nil {
			return "", err
		}
	}
	f, err := os.Open(dir)
	if err != nil {
		return "", err
	}
	defer f.Close()
	first := ""
	for {
		ents, err := f.ReadDir(256)
		for _, e := range ents {
			first = earlierKeyFile(first, e.Name())
		}
		if err == io.EOF {
			return first, nil
		}
		if err != nil {
			return "", hideEntry(dir, err)
		}
	}
}

// keyFileHere is keyFileIn for an open store, listed from its directory's
// descriptor: a keyless store's re-read of the marker, which has just made
// an NFS client fetch the directory's attributes (readMarker).
func (s *Store) keyFileHere(ctx context.Context) (string, error) {
	first := ""
	err := s.root.forEachEntry(ctx, s.dir, func(e fs.DirEntry) { first = earlierKeyFile(first, e.Name()) })
	if err != nil {
		return "", err
	}
	return first, nil
}

// earlierKeyFile returns the first, in name order, of first (a key file's
// name, or "") and name, if name is a key file's.
func earlierKeyFile(first, name string) string {
	if isKeyFile(name) && (first == "" || name < first) {
		return name
	}
	return first
}

// errKeyFile is the refusal of a keyless Open (ErrKeysRequired) of a store
// whose marker does not say it is encrypted but that holds key file name:
// it names the file and what to do.
func errKeyFile(dir, name string) error {
	return fmt.Errorf("fsstore: open %s: %w: its %s file does not say so (no \"encrypted 1\" line: edited, or removed), but %s is there, which only a host opened with keys writes; this process would write sessions in clear text that the other hosts refuse. Give this host the store's keys (WithKeys, WithKeysFile). Only if no host of this store runs with keys, and none should, remove the .keycheck-*, .keynewest-* and .keyorder-* files from %s, then restart the hosts without keys (a host with keys writes its check file again within a minute of a save, and the hosts without keys refuse the store again)",
		dir, ErrKeysRequired, MarkerFile, filepath.Join(dir, name), dir)
}

// keyFileRefusal is what a keyless store's saves fail with once a re-read
// of the marker found key file name at the store's top (see noteKeyFile):
// ErrKeysRequired, naming the file.
type keyFileRefusal struct{ name string }

func (e *keyFileRefusal) Error() string {
	return fmt.Sprintf("%v: key file %s is at the store's top, which only a host opened with keys writes, though the store's %s file does not say it is encrypted", ErrKeysRequired, e.name, MarkerFile)
}

func (e *keyFileRefusal) Unwrap() error { return ErrKeysRequired }

// noteKeyFile makes this keyless store take the store for encrypted, as
// the marker's line would (s.encrypted, never cleared), because a re-read
// found key file name at its top, and logs that once. From then on its
// saves fail with ErrKeysRequired naming the file, and it refuses
// plaintext records.
func (s *Store) noteKeyFile(name string) {
	s.keyFileSeen.CompareAndSwap(nil, &keyFileRefusal{name: name})
	if s.encrypted.Swap(true) {
		return
	}
	s.cfg.logger.Error("fsstore: the store's marker does not say it is encrypted, but a key file is at its top, which only a host opened with keys writes: this process has no keys, and from now on refuses every save (ErrKeysRequired) and every plaintext record (ErrUnencrypted); give it the store's keys and restart it. Only if no host of this store runs with keys, and none should, remove the key files (.keycheck-*, .keynewest-*, .keyorder-*) and restart the hosts without keys",
		"dir", s.dir, "file", name, "marker", MarkerFile)
}

// errKeyFileLook is the failure of a keyless Open whose look for key
// files failed: the store could hold one, so it is not opened.
func errKeyFileLook(dir string, err error) error {
	return fmt.Errorf("fsstore: open %s: list the store's directory for key files (a store opened without keys opens only where there is none): %w", dir, hintedIn(dir, err))
}
