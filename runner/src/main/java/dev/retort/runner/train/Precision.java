package dev.retort.runner.train;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.nn.Settings;
import java.util.List;
import java.util.Map;

/**
 * The run keys {@code precision} (what the student trains in) and {@code teacher.precision} (what the frozen teacher
 * runs in). Every value is checked; a value this engine cannot run is refused with the reason, never replaced by
 * float32 behind the user's back.
 *
 * <p>What DJL 0.35.1 allows (README, Precision): its PyTorch JNI maps only float32, float64, float16, uint8, int8,
 * int32, int64, bool and complex64 to libtorch types, and making or casting a bfloat16 tensor aborts the process; its
 * casts between types record no gradient. float16 runs, but libtorch's CPU kernels lack a float16 bilinear resize.
 */
record Precision(String student, String teacher) {
    static final String STUDENT_KEY = "precision";
    static final String TEACHER_KEY = "teacher.precision";
    static final List<String> STUDENT_VALUES = List.of("fp32", "bf16-mixed");
    static final List<String> TEACHER_VALUES = List.of("fp32", "bf16", "fp16");
    static final Precision DEFAULT = new Precision("fp32", "fp32");

    private static final String NO_BF16 = "DJL 0.35.1's PyTorch JNI has no bfloat16 type (making or casting a bfloat16 tensor aborts the process)";

    /** The two keys of a run description, checked. */
    static Precision read(Settings s, Map<String, ?> raw) {
        String student = value(s, raw, STUDENT_KEY, STUDENT_VALUES);
        String teacher = value(s, raw, TEACHER_KEY, TEACHER_VALUES);
        if (student.equals("bf16-mixed")) {
            throw s.invalid("precision = bf16-mixed is not available: " + NO_BF16 + ", and its casts between types record no gradient, so"
                    + " a float32 master weight cannot be trained through a low-precision copy; use precision = fp32");
        }
        if (teacher.equals("bf16")) {
            throw s.invalid("teacher.precision = bf16 is not available: " + NO_BF16 + "; use fp32 (or fp16 on a GPU)");
        }
        return new Precision(student, teacher);
    }

    private static String value(Settings s, Map<String, ?> raw, String key, List<String> allowed) {
        Object v = raw.get(key);
        if (v == null) return allowed.get(0);
        String value = v.toString().strip();
        if (!allowed.contains(value)) throw s.error(key, String.join(", ", allowed.subList(0, allowed.size() - 1)) + " or " + allowed.get(allowed.size() - 1), v);
        return value;
    }

    /** The floating-point type the teacher runs in. */
    DataType teacherType() {
        return teacher.equals("fp16") ? DataType.FLOAT16 : DataType.FLOAT32;
    }

    /**
     * The teacher as the run uses it: itself in fp32; otherwise its weights cast once, its input cast at every forward
     * and its taps given back in float32 ({@link CastTeacher}). Refused on a CPU for fp16, which would fail in the
     * SegFormer head's resize at the first step (and ran its matrix products about 60 times slower than float32).
     */
    SegmentationNetwork teacher(SegmentationNetwork net, Device device) {
        if (teacher.equals("fp32")) return net;
        if (Device.Type.CPU.equals(device.getDeviceType())) {
            throw new IllegalArgumentException("teacher.precision = fp16 cannot run on " + device + ": libtorch 2.7.1's CPU kernels have no"
                    + " float16 bilinear resize (\"compute_index_ranges_weights\" not implemented for 'Half'), which every segmentation head"
                    + " here uses, and its float16 matrix product is far slower than float32 on a CPU; use teacher.precision = fp32 on a CPU");
        }
        return new CastTeacher(net, teacherType());
    }
}
