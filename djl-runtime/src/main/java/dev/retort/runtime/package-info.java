/**
 * The class-path side of DJL: starts the PyTorch engine offline (libtorch from the class path, unpacked into the
 * user's cache), says what the native allocator does with freed memory ({@link dev.retort.runtime.NativeAllocator}), lists the
 * packages the system bundle exports, and registers the Engine as a service.
 */
package dev.retort.runtime;
