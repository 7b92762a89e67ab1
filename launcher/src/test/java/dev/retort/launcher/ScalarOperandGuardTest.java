package dev.retort.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
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
        RetortClasses.forEach((name, bytes) -> {
            scanned.add(name);
            List<String> calls = numberArithmetic(bytes);
            if (!calls.isEmpty()) offenders.put(name, calls);
        });
        assertTrue(scanned.contains("dev/retort/nn/Ops.class") && scanned.contains("dev/retort/runner/train/Trainer.class")
                && scanned.size() > 50, "the bundles' classes are on the test class path (scanned " + scanned.size() + ")");
        assertEquals(new TreeMap<>(), offenders,
                "classes that pass a Java number to DJL arithmetic (use dev.retort.nn.Scalars: DJL frees that operand before the backward)");
    }

    @Test
    void theCheckSeesANumberOperand() throws IOException {
        assertEquals(List.of("ai/djl/ndarray/NDArray.mul(Ljava/lang/Number;)"), numberArithmetic(RetortClasses.bytesOf(Offender.class)));
    }

    /** What the check must catch: javac resolves {@code mul(2f)} to {@code mul(Number)}. */
    static final class Offender {
        static NDArray twice(NDArray x) {
            return x.mul(2f);
        }
    }

    /** The DJL methods in FORBIDDEN with a Number parameter that a class file refers to, as owner.name(params). */
    static List<String> numberArithmetic(byte[] classFile) throws IOException {
        List<String> found = new ArrayList<>();
        for (RetortClasses.MethodRef r : RetortClasses.methodRefs(classFile)) {
            if (r.owner().startsWith("ai/djl/") && FORBIDDEN.contains(r.name()) && r.params().contains("Ljava/lang/Number;")) found.add(r.toString());
        }
        return found;
    }
}
