// Writes the COSI State API (github.com/cosi-project/runtime api/v1alpha1, the
// /cosi.resource.State service `talosctl get` calls, and the ResourceDefinition spec it
// decodes to resolve a resource kind) as a FileDescriptorSet. The runtime
// module ships generated Go only; its descriptors are embedded in the .pb.go files, and
// this reads them back from the Go registry with every import they need.
//
//	go run ./scripts/cosi-descriptors <output file>
package main

import (
	"fmt"
	"os"

	v1alpha1 "github.com/cosi-project/runtime/api/v1alpha1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: cosi-descriptors <output file>")
		os.Exit(2)
	}
	set := &descriptorpb.FileDescriptorSet{}
	seen := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imports := fd.Imports()
		for i := 0; i < imports.Len(); i++ {
			add(imports.Get(i).FileDescriptor)
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
	}
	add(v1alpha1.File_v1alpha1_state_proto)
	add(v1alpha1.File_v1alpha1_meta_proto)
	out, err := proto.Marshal(set)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(os.Args[1], out, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
