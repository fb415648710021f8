// Writes a small etcd v3 backend database (bbolt, the format `etcdctl snapshot save`
// streams) with `revisions` revisions in its "key" bucket and a consistent index in "meta":
// what a simulated Talos node streams for EtcdSnapshot (followed by its SHA-256, as etcd
// appends it), so that talosctl's own snapshot check (etcdutl Status: bbolt integrity,
// revision, key count) reads it as a real snapshot.
//
//	go run ./scripts/etcd-snapshot <output file> <revisions>
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

func revision(main int64) []byte {
	// etcd's revision key: 8-byte main, '_', 8-byte sub (mvcc revToBytes).
	b := make([]byte, 17)
	binary.BigEndian.PutUint64(b[0:8], uint64(main))
	b[8] = '_'
	return b
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: etcd-snapshot <output file> <revisions>")
		os.Exit(2)
	}
	revisions, err := strconv.Atoi(os.Args[2])
	if err != nil || revisions < 1 {
		fmt.Fprintln(os.Stderr, "revisions must be a positive integer")
		os.Exit(2)
	}
	_ = os.Remove(os.Args[1])
	db, err := bolt.Open(os.Args[1], 0o600, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		key, err := tx.CreateBucket([]byte("key"))
		if err != nil {
			return err
		}
		for rev := 1; rev <= revisions; rev++ {
			if err := key.Put(revision(int64(rev)), []byte(fmt.Sprintf("simulated key-value %d", rev))); err != nil {
				return err
			}
		}
		meta, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		index := make([]byte, 8)
		binary.BigEndian.PutUint64(index, uint64(revisions))
		return meta.Put([]byte("consistent_index"), index)
	})
	if err == nil {
		err = db.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
