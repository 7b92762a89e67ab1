package dev.retort.runner.train;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.error.RetortConfigException;
import dev.retort.nn.Ops;
import dev.retort.nn.Scope;
import dev.retort.nn.Settings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The run keys {@code precision} (what the student trains in) and {@code teacher.precision} (what the frozen teacher
 * runs in). Every value is checked; a value this engine cannot run is refused with the reason, never replaced by
 * float32 behind the user's back.
 *
 * <p>bfloat16 goes through {@code nn}'s {@code BFloat16} (TorchScript methods, because DJL 0.35.1's PyTorch JNI has no
 * bfloat16 type of its own). {@code bf16-mixed} opens {@code Ops.bf16Products()} around the student's forward, the
 * modules' forward and the student's evaluation: linear, 2-D convolution and attention products in bfloat16 from
 * float32 master weights, everything else (norms, softmax, losses, the optimiser and its state) in float32. A CPU
 * without AVX-512 BF16 or AMX has no bfloat16 matrix kernel in libtorch: the run is allowed (results are right) but
 * warned about, since its products run through reference loops (measured here: a 2048² product about 300 times, a
 * whole TransKD step 3.5–6 times slower than float32).
 */
record Precision(String student, String teacher) {
    static final String STUDENT_KEY = "precision";
    static final String TEACHER_KEY = "teacher.precision";
    static final List<String> STUDENT_VALUES = List.of("fp32", "bf16-mixed");
    static final List<String> TEACHER_VALUES = List.of("fp32", "bf16", "fp16");
    static final Precision DEFAULT = new Precision("fp32", "fp32");

    /** The two keys of a run description, checked. */
    static Precision read(Settings s, Map<String, ?> raw) {
        return new Precision(value(s, raw, STUDENT_KEY, STUDENT_VALUES), value(s, raw, TEACHER_KEY, TEACHER_VALUES));
    }

    private static String value(Settings s, Map<String, ?> raw, String key, List<String> allowed) {
        Object v = raw.get(key);
        if (v == null) return allowed.get(0);
        String value = v.toString().strip();
        if (!allowed.contains(value)) throw s.error(key, String.join(", ", allowed.subList(0, allowed.size() - 1)) + " or " + allowed.get(allowed.size() - 1), v);
        return value;
    }

    /** Whether the student's products run in bfloat16. */
    boolean studentMixed() {
        return student.equals("bf16-mixed");
    }

    /** The scope the student's forward and evaluation run in: bfloat16 products under bf16-mixed, else none (null). */
    Scope studentProducts() {
        return studentMixed() ? Ops.bf16Products() : null;
    }

    /** The floating-point type the teacher runs in. */
    DataType teacherType() {
        return switch (teacher) {
            case "fp16" -> DataType.FLOAT16;
            case "bf16" -> DataType.BFLOAT16;
            default -> DataType.FLOAT32;
        };
    }

    /**
     * The teacher as the run uses it: itself in fp32; otherwise its weights cast once, its input cast at every forward
     * and its taps given back in float32 ({@link CastTeacher}). Refused on a CPU for fp16, which would fail in the
     * SegFormer head's resize at the first step (and ran its matrix products about 60 times slower than float32).
     */
    SegmentationNetwork teacher(SegmentationNetwork net, Device device) {
        if (teacher.equals("fp32")) return net;
        if (teacher.equals("fp16") && Device.Type.CPU.equals(device.getDeviceType())) {
            throw new RetortConfigException("teacher.precision = fp16 cannot run on " + device + ": libtorch 2.7.1's CPU kernels have no"
                    + " float16 bilinear resize (\"compute_index_ranges_weights\" not implemented for 'Half'), which every segmentation head"
                    + " here uses, and its float16 matrix product is far slower than float32 on a CPU; use teacher.precision = fp32 or bf16");
        }
        return new CastTeacher(net, teacherType());
    }

    /** What the user should know before a bfloat16 run on {@code device} starts, or nothing. */
    List<String> warnings(Device device, Set<String> cpuFlags) {
        List<String> keys = new ArrayList<>();
        if (studentMixed()) keys.add(STUDENT_KEY + " = bf16-mixed");
        if (teacher.equals("bf16")) keys.add(TEACHER_KEY + " = bf16");
        if (keys.isEmpty() || !Device.Type.CPU.equals(device.getDeviceType())) return List.of();
        if (cpuFlags.contains("avx512_bf16") || cpuFlags.contains("amx_bf16")) return List.of();
        return List.of("WARNING " + String.join(" and ", keys) + " on a CPU without AVX-512 BF16 or AMX (flags avx512_bf16,"
                + " amx_bf16 absent): libtorch has no bfloat16 matrix kernel for it and runs bfloat16 products through reference loops,"
                + " measured on such a CPU: a 2048x2048 product about 300 times, a whole training step 3.5 to 6 times slower than float32;"
                + " the numbers are right, the run is slow; fp32 is faster here");
    }

    /** The CPU feature flags of this machine (Linux {@code /proc/cpuinfo}; empty elsewhere). */
    static Set<String> cpuFlags() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("flags")) return Set.copyOf(Arrays.asList(line.substring(line.indexOf(':') + 1).strip().split("\\s+")));
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or unreadable: no flags known
        }
        return Set.of();
    }
}
