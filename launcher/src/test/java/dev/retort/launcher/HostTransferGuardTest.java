package dev.retort.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * No Retort class moves data between Java and a device through DJL directly, except {@code dev.retort.nn.HostTransfers}
 * (which counts every move, for {@code kd:bench} and the step tests) and the places named in {@link #ALLOWED}, each
 * off a training step's path. What counts as a move: reading an array's values into Java ({@code toFloatArray},
 * {@code getFloat}, {@code getBoolean}, {@code toByteBuffer}, …, and {@code contentEquals}/{@code allClose}, which answer
 * on the host), making an array from Java data ({@code NDManager.create(float[]…)}, {@code NDArray.set(…)} from Java
 * values), and every DJL operation with a {@code Number} operand ({@code lt(0.5f)}, {@code neq(255)}, …: DJL wraps the
 * number in an array made from Java memory). Checked on the constant pool of every Retort class on the test class path.
 */
class HostTransferGuardTest {
    /** NDArray methods that read values into Java. */
    private static final Pattern READS = Pattern.compile(
            "to(Array|FloatArray|DoubleArray|IntArray|LongArray|BooleanArray|ByteArray|Uint8Array|StringArray|ByteBuffer|DebugString)"
                    + "|get(Float|Double|Int|Long|Boolean|Byte|Uint8)|contentEquals|allClose");

    /**
     * The places allowed to call DJL's transfers directly, each with why it is off the step path (or what it costs
     * there). A class listed here that no longer calls them fails the test too, so the list stays true.
     */
    static final Map<String, String> ALLOWED = allowed();

    private static Map<String, String> allowed() {
        Map<String, String> m = new TreeMap<>();
        m.put("dev/retort/nn/HostTransfers", "the one counted route");
        // weights and checkpoints: read or written when a run starts, resumes, saves or converts, never inside a step
        m.put("dev/retort/safetensors/SafeTensorsFile", "weights IO: a .safetensors tensor loaded into an array");
        m.put("dev/retort/safetensors/SafeTensorsWriter", "weights IO: arrays written to a .safetensors file (checkpoints, caches)");
        m.put("dev/retort/safetensors/TensorSource", "weights IO: a stored tensor made an array");
        m.put("dev/retort/backbones/mit/MitWeights", "weights IO: converting published MiT/SegFormer weights");
        m.put("dev/retort/runner/train/Checkpoints", "checkpoint resume: parameters and moments restored once");
        m.put("dev/retort/runner/train/InitCheckpoint", "run start: an init file's tensors loaded once");
        m.put("dev/retort/distill/support/ModuleRoster", "a module's state restored from a checkpoint when it joins");
        m.put("dev/retort/runner/train/Preparations", "once per preparation: its cache key's digest of initial values, a cached result loaded");
        m.put("dev/retort/runner/teachercache/WeightDigest", "once per run: the teacher's weights hashed for the cache key");
        // evaluation: each validation batch goes up and its predictions come back, between training steps
        m.put("dev/retort/runner/eval/Evaluation", "evaluation: validation images uploaded, predictions and the non-finite count read");
        // parity: kd:parity against fixtures, never in a run
        m.put("dev/retort/parity/ModuleParity", "parity: fixture tensors compared on the host");
        m.put("dev/retort/parity/ParityCheck", "parity: fixture tensors compared on the host");
        m.put("dev/retort/runner/train/AdamWParity", "parity: the optimizer's state compared with the fixture's");
        m.put("dev/retort/distill/cskd/CskdParity", "parity: CSKD's probes compared with the fixture's");
        m.put("dev/retort/distill/maskd/MaskdParity", "parity: fixture weights loaded into MasKD's modules");
        // benchmarks
        m.put("dev/retort/study/TrainBench", "kd:bench's reference product: one read waits for the timed GEMM, outside any run");
        return m;
    }

    @Test
    void onlyTheNamedPlacesMoveDataBetweenJavaAndADevice() throws IOException {
        TreeMap<String, List<String>> offenders = new TreeMap<>();
        Set<String> scanned = new TreeSet<>(), listedAndCalling = new TreeSet<>();
        RetortClasses.forEach((file, bytes) -> {
            String name = file.substring(0, file.length() - ".class".length());
            scanned.add(name);
            List<String> calls = transfers(bytes);
            if (calls.isEmpty()) return;
            if (ALLOWED.containsKey(outer(name))) listedAndCalling.add(outer(name));
            else offenders.put(name, calls);
        });
        assertTrue(scanned.contains("dev/retort/nn/Ops") && scanned.contains("dev/retort/runner/train/OptimizationStep") && scanned.size() > 50,
                "the bundles' classes are on the test class path (scanned " + scanned.size() + ")");
        assertEquals(new TreeMap<>(), offenders, "classes that read device arrays into Java or make arrays from Java data outside"
                + " dev.retort.nn.HostTransfers (route them through it, or keep constants on the device: nn.Scalars, nn.DeviceConstants;"
                + " a place off the step path goes into ALLOWED with its reason)");
        Set<String> stale = new TreeSet<>(ALLOWED.keySet());
        stale.removeAll(listedAndCalling);
        assertEquals(Set.of(), stale, "listed in ALLOWED but no longer calling DJL's transfers: take them off the list");
    }

    @Test
    void theCheckSeesEachKindOfTransfer() throws IOException {
        assertEquals(List.of("ai/djl/ndarray/NDArray.getFloat([J)", "ai/djl/ndarray/NDArray.lt(Ljava/lang/Number;)",
                "ai/djl/ndarray/NDArray.toBooleanArray()", "ai/djl/ndarray/NDManager.create([FLai/djl/ndarray/types/Shape;)"),
                transfers(RetortClasses.bytesOf(Offender.class)).stream().sorted().toList());
        assertEquals(List.of(), transfers(RetortClasses.bytesOf(Innocent.class)));
    }

    /** What the check must catch. */
    static final class Offender {
        static float loss(NDArray x) {
            return x.getFloat();
        }

        static NDArray mask(NDArray x) {
            return x.lt(0.5f);
        }

        static boolean[] flags(NDArray x) {
            return x.toBooleanArray();
        }

        static NDArray matrix(NDManager m) {
            return m.create(new float[4], new Shape(2, 2));
        }
    }

    /** What it must let pass: arrays made on the device, shapes, operations between arrays. */
    static final class Innocent {
        static NDArray ops(NDManager m, NDArray x) {
            NDArray z = m.zeros(new Shape(2, 2)).add(m.full(new Shape(), 1f));
            return x.lt(z).toType(x.getDataType(), false).mul(m.randomUniform(0f, 1f, x.getShape())).clip(0, 1);
        }
    }

    /** The DJL transfers a class file refers to, as owner.name(params). */
    static List<String> transfers(byte[] classFile) throws IOException {
        List<String> found = new ArrayList<>();
        for (RetortClasses.MethodRef r : RetortClasses.methodRefs(classFile)) {
            if (isTransfer(r)) found.add(r.toString());
        }
        return found;
    }

    private static boolean isTransfer(RetortClasses.MethodRef r) {
        String owner = r.owner(), name = r.name(), params = r.params();
        if (!owner.startsWith("ai/djl/ndarray/") && !owner.startsWith("ai/djl/pytorch/engine/")) return false;
        boolean array = owner.endsWith("NDArray") || owner.endsWith("NDArrayAdapter") || owner.endsWith("NDArrayEx");
        boolean manager = owner.endsWith("NDManager");
        if (array && READS.matcher(name).matches()) return true;
        if (array && (name.equals("set") || name.equals("setScalar")) && !params.equals("(Lai/djl/ndarray/index/NDIndex;Lai/djl/ndarray/NDArray;)")) return true;
        if (manager && (name.equals("create") || name.startsWith("create")) && !params.startsWith("(Lai/djl/ndarray/types/Shape;")) return true;
        // clip(Number, Number) hands libtorch two doubles, not arrays
        return params.contains("Ljava/lang/Number;") && !name.equals("clip");
    }

    private static String outer(String name) {
        int dollar = name.indexOf('$');
        return dollar < 0 ? name : name.substring(0, dollar);
    }
}
