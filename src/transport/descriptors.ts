import { createFileRegistry, fromBinary, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema, type FileDescriptorSet } from "@bufbuild/protobuf/wkt";
import { descriptorImageBase64 } from "../generated/descriptor-image";

// The compiled schema (`buf build` output, every import included) is the single source of
// truth for reflection and the REST gateway, so both see exactly what protoc/buf compiled,
// custom options such as google.api.http included. Decoding is deferred to first use so that
// importing this module costs nothing, and memoised so every caller shares one copy.
let image: FileDescriptorSet | undefined;
let registry: FileRegistry | undefined;

/**
 * The embedded google.protobuf.FileDescriptorSet, in `buf build` order (dependencies first).
 * Shared by all callers: treat it as read-only.
 */
export function descriptorSet(): FileDescriptorSet {
  image ??= fromBinary(FileDescriptorSetSchema, Buffer.from(descriptorImageBase64, "base64"));
  return image;
}

/** A registry of every file, message, enum, service and extension in the embedded image. */
export function descriptorRegistry(): FileRegistry {
  registry ??= createFileRegistry(descriptorSet());
  return registry;
}
