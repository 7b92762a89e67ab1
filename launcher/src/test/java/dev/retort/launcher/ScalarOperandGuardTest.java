package dev.retort.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * No Retort bundle calls a DJL array operation that takes a {@code Number} operand: in DJL 0.35.1 those wrap the
 * number in a tensor over Java memory and free it while autograd may still need it (see {@code dev.retort.nn.Scalars},
 * which every bundle uses instead). The check reads the constant pool of every Retort class on the test class path
 * (all embedded bundles and the drop-in example), so it sees exactly the overloads javac chose.
 */
class ScalarOperandGuardTest {
    /** Arithmetic whose scalar operand DJL frees after the call; comparisons (lt, neq, …) carry no gradient. */
    private static final Set<String> FORBIDDEN = Set.of("add", "sub", "mul", "div", "mod", "pow", "maximum", "minimum",
            "addi", "subi", "muli", "divi", "modi", "powi", "rdiv", "rdivi", "rsub", "rsubi", "rmod", "rmodi", "rpow", "rpowi");

    @Test
    void noBundleGivesDjlArithmeticANumberOperand() throws IOException {
        TreeMap<String, List<String>> offenders = new TreeMap<>();
        Set<String> scanned = new TreeSet<>();
        for (String entry : classPath()) {
            Path path = Path.of(entry);
            if (path.endsWith("test-classes")) continue;  // this module's tests (and the offender below)
            forEachRetortClass(path, (name, bytes) -> {
                scanned.add(name);
                List<String> calls = numberArithmetic(bytes);
                if (!calls.isEmpty()) offenders.put(name, calls);
            });
        }
        assertTrue(scanned.contains("dev/retort/nn/Ops.class") && scanned.contains("dev/retort/runner/train/Trainer.class")
                && scanned.size() > 50, "the bundles' classes are on the test class path (scanned " + scanned.size() + ")");
        assertEquals(new TreeMap<>(), offenders,
                "classes that pass a Java number to DJL arithmetic (use dev.retort.nn.Scalars: DJL frees that operand before the backward)");
    }

    @Test
    void theCheckSeesANumberOperand() throws IOException {
        try (InputStream in = Offender.class.getResourceAsStream("ScalarOperandGuardTest$Offender.class")) {
            assertEquals(List.of("ai/djl/ndarray/NDArray.mul(Ljava/lang/Number;)"), numberArithmetic(in.readAllBytes()));
        }
    }

    /** What the check must catch: javac resolves {@code mul(2f)} to {@code mul(Number)}. */
    static final class Offender {
        static NDArray twice(NDArray x) {
            return x.mul(2f);
        }
    }

    private static List<String> classPath() {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        return List.of(cp.split(File.pathSeparator));
    }

    private interface ClassVisitor {
        void visit(String name, byte[] bytes) throws IOException;
    }

    private static void forEachRetortClass(Path path, ClassVisitor visitor) throws IOException {
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

    /** The DJL methods in FORBIDDEN with a Number parameter that a class file refers to, as owner.name(params). */
    static List<String> numberArithmetic(byte[] classFile) throws IOException {
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
        List<String> found = new ArrayList<>();
        for (int i = 1; i < count; i++) {
            if (!methodRef[i]) continue;
            String owner = utf8[classNames[refClass[i]]], name = utf8[natName[refNameAndType[i]]];
            String descriptor = utf8[natType[refNameAndType[i]]];
            String params = descriptor.substring(0, descriptor.indexOf(')') + 1);
            if (owner.startsWith("ai/djl/") && FORBIDDEN.contains(name) && params.contains("Ljava/lang/Number;")) {
                found.add(owner + "." + name + params);
            }
        }
        return found;
    }
}
