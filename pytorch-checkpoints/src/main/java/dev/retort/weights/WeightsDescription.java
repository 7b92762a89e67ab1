package dev.retort.weights;

import dev.retort.pytorch.TorchCheckpoint;
import dev.retort.safetensors.DType;
import dev.retort.safetensors.TensorInfo;
import dev.retort.safetensors.TensorSource;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a weights source holds, as lines for {@code kd:weights FILE}: its format, its top level (for a PyTorch checkpoint:
 * each entry and which one the tensors came from), the tensors (count, values, element types) and the key prefixes
 * that tell its naming and wrapping. Which variant it fits is the backbones' to say.
 */
public final class WeightsDescription {
    /** Key prefixes worth naming, with what they mean. */
    private static final Map<String, String> PREFIXES = new LinkedHashMap<>();

    static {
        PREFIXES.put("module.", "nn.DataParallel wrapper, stripped when loading");
        PREFIXES.put("student.", "a distillation checkpoint's student (TransKD wrapper or Retort run), the part a student loads");
        PREFIXES.put("backbone.", "mmseg/mmcv naming (MiT: stripped when loading; PVTv2: TransKD's own naming)");
        PREFIXES.put("decode_head.", "decoder (mmseg naming, or Hugging Face's with segformer.*)");
        PREFIXES.put("segformer.", "Hugging Face SegformerForSemanticSegmentation naming");
        PREFIXES.put("modules.", "Retort distillation modules");
        PREFIXES.put("optim.", "Retort AdamW state");
        PREFIXES.put("skfs.", "TransKD CSF/HCL modules");
    }

    private WeightsDescription() {}

    public static List<String> lines(TensorSource s) {
        List<String> out = new ArrayList<>();
        out.add("format: " + s.format());
        if (s instanceof TorchCheckpoint t) {
            List<String> entries = new ArrayList<>();
            t.topLevel().forEach((k, v) -> entries.add(k + " = " + v));
            out.add("top level: " + (t.stateDictKey() == null ? "a flat state dict of " + t.topLevel().size() + " entries"
                    : "a checkpoint dict; tensors taken from '" + t.stateDictKey() + "'"));
            if (t.stateDictKey() != null) entries.forEach(e -> out.add("  " + e));
            if (t.skippedValues() > 0) out.add("  " + t.skippedValues() + " non-tensor values inside the state dict, passed over");
        } else if (!s.metadata().isEmpty()) {
            out.add("metadata: " + String.join(", ", s.metadata().keySet()));
        }
        long values = 0;
        Map<DType, Integer> dtypes = new EnumMap<>(DType.class);
        for (TensorInfo i : s.tensors().values()) {
            values += i.elements();
            dtypes.merge(i.dtype(), 1, Integer::sum);
        }
        List<String> types = new ArrayList<>();
        dtypes.forEach((d, n) -> types.add(n + " " + d));
        out.add(String.format("tensors: %d (%,d values; %s)", s.tensors().size(), values, String.join(", ", types)));
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (String key : s.tensors().keySet()) {
            if (key.startsWith("module.")) counts.merge("module.", 1, Integer::sum);
            String k = key;
            while (k.startsWith("module.")) k = k.substring("module.".length());
            for (String p : PREFIXES.keySet()) if (!p.equals("module.") && k.startsWith(p)) counts.merge(p, 1, Integer::sum);
        }
        if (counts.isEmpty()) out.add("key prefixes: none (a bare state dict, e.g. " + first(s) + ")");
        PREFIXES.forEach((p, meaning) -> {
            if (counts.containsKey(p)) out.add(String.format("key prefix %-13s %5d tensors: %s", p, counts.get(p), meaning));
        });
        return out;
    }

    private static String first(TensorSource s) {
        return s.tensors().isEmpty() ? "no tensor at all" : s.tensors().keySet().iterator().next();
    }
}
