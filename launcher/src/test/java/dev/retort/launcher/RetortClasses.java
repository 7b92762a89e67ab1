package dev.retort.launcher;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * The Retort classes on the test class path (every embedded bundle and the drop-in example) and the methods each one's
 * constant pool refers to, for the guard tests that check which DJL methods the bundles call: the constant pool names
 * exactly the overloads javac chose.
 */
final class RetortClasses {
    /** A method a class refers to: owner in internal form, name and descriptor. */
    record MethodRef(String owner, String name, String descriptor) {
        /** The parameter part of the descriptor, {@code (…)}. */
        String params() {
            return descriptor.substring(0, descriptor.indexOf(')') + 1);
        }

        @Override
        public String toString() {
            return owner + "." + name + params();
        }
    }

    interface ClassVisitor {
        void visit(String name, byte[] bytes) throws IOException;
    }

    private RetortClasses() {}

    /** Visits every {@code dev/retort/**} class of the test class path, the test classes of this module excepted. */
    static void forEach(ClassVisitor visitor) throws IOException {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        for (String entry : cp.split(File.pathSeparator)) {
            Path path = Path.of(entry);
            if (path.endsWith("test-classes")) continue;  // this module's tests (and the offenders they hold)
            forEachIn(path, visitor);
        }
    }

    private static void forEachIn(Path path, ClassVisitor visitor) throws IOException {
        if (Files.isDirectory(path)) {
            Path root = path.resolve("dev/retort");
            if (!Files.isDirectory(root)) return;
            try (Stream<Path> files = Files.walk(root)) {
                for (Path f : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                    visitor.visit(path.relativize(f).toString().replace('\\', '/'), Files.readAllBytes(f));
                }
            }
        } else if (path.toString().endsWith(".jar") && Files.isRegularFile(path)) {
            try (JarFile jar = new JarFile(path.toFile())) {
                for (JarEntry e : jar.stream().toList()) {
                    if (!e.getName().startsWith("dev/retort/") || !e.getName().endsWith(".class")) continue;
                    try (InputStream in = jar.getInputStream(e)) {
                        visitor.visit(e.getName(), in.readAllBytes());
                    }
                }
            }
        }
    }

    /** The bytes of a class of this module's tests (an offender a self-test scans). */
    static byte[] bytesOf(Class<?> c) throws IOException {
        String name = c.getName();
        try (InputStream in = c.getResourceAsStream(name.substring(name.lastIndexOf('.') + 1) + ".class")) {
            return in.readAllBytes();
        }
    }

    /** The methods (and interface methods) a class file's constant pool refers to. */
    static List<MethodRef> methodRefs(byte[] classFile) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(classFile));
        if (in.readInt() != 0xCAFEBABE) throw new IOException("not a class file");
        in.readUnsignedShort();
        in.readUnsignedShort();
        int count = in.readUnsignedShort();
        String[] utf8 = new String[count];
        int[] classNames = new int[count], refClass = new int[count], refNameAndType = new int[count];
        int[] natName = new int[count], natType = new int[count];
        boolean[] methodRef = new boolean[count];
        for (int i = 1; i < count; i++) {
            int tag = in.readUnsignedByte();
            switch (tag) {
                case 1 -> utf8[i] = in.readUTF();
                case 7 -> classNames[i] = in.readUnsignedShort();
                case 8, 16, 19, 20 -> in.readUnsignedShort();
                case 3, 4 -> in.readInt();
                case 5, 6 -> { in.readLong(); i++; }
                case 9 -> { in.readUnsignedShort(); in.readUnsignedShort(); }
                case 10, 11 -> { methodRef[i] = true; refClass[i] = in.readUnsignedShort(); refNameAndType[i] = in.readUnsignedShort(); }
                case 12 -> { natName[i] = in.readUnsignedShort(); natType[i] = in.readUnsignedShort(); }
                case 15 -> { in.readUnsignedByte(); in.readUnsignedShort(); }
                case 17, 18 -> { in.readUnsignedShort(); in.readUnsignedShort(); }
                default -> throw new IOException("unknown constant pool tag " + tag);
            }
        }
        List<MethodRef> refs = new ArrayList<>();
        for (int i = 1; i < count; i++) {
            if (methodRef[i]) refs.add(new MethodRef(utf8[classNames[refClass[i]]], utf8[natName[refNameAndType[i]]], utf8[natType[refNameAndType[i]]]));
        }
        return refs;
    }
}
