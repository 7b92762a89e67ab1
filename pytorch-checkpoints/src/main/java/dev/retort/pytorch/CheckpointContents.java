package dev.retort.pytorch;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a user means by the weights of a checkpoint: the {@code state_dict} entry of a training checkpoint (TransKD's
 * {@code save_checkpoint}, mmcv/mmseg), else its {@code model} entry, else the top-level dict itself (a plain
 * {@code torch.save(model.state_dict())}). Dicts nested inside the chosen one contribute their tensors under dotted
 * names; everything else (epoch, arch, best_acc, optimizer state, meta) is kept as a short description, never refused.
 *
 * @param tensors      the state dict's tensors by name, in file order
 * @param stateDictKey the top-level entry they came from, or null for a flat state dict
 * @param topLevel     each top-level entry and what it holds, in file order
 * @param skipped      non-tensor values inside the state dict that were passed over
 */
record CheckpointContents(Map<String, TensorRef> tensors, String stateDictKey, Map<String, String> topLevel, int skipped) {
    private static final int MAX_NESTING = 16;

    static CheckpointContents of(Object top, String where) throws CheckpointException {
        if (!(top instanceof Map<?, ?> dict)) {
            throw new CheckpointException(where + ": holds " + Unpickler.describe(top) + ", not a dict of tensors (a state dict or a checkpoint dict)");
        }
        String chosen = null;
        for (String candidate : List.of("state_dict", "model")) {
            if (dict.get(candidate) instanceof Map<?, ?>) {
                chosen = candidate;
                break;
            }
        }
        Map<?, ?> stateDict = chosen == null ? dict : (Map<?, ?>) dict.get(chosen);
        Map<String, TensorRef> tensors = new LinkedHashMap<>();
        int[] skipped = {0};
        collect(stateDict, "", tensors, skipped, Collections.newSetFromMap(new IdentityHashMap<>()), 0, where);
        Map<String, String> topLevel = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : dict.entrySet()) topLevel.put(String.valueOf(e.getKey()), summary(e.getValue()));
        return new CheckpointContents(Collections.unmodifiableMap(tensors), chosen, Collections.unmodifiableMap(topLevel), skipped[0]);
    }

    private static void collect(Map<?, ?> dict, String prefix, Map<String, TensorRef> out, int[] skipped, Set<Object> seen, int depth,
                                String where) throws CheckpointException {
        if (!seen.add(dict)) return;  // a dict that contains itself
        if (depth > MAX_NESTING) throw new CheckpointException(where + ": dicts nested deeper than " + MAX_NESTING + " inside the state dict");
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            String name = prefix + e.getKey();
            if (e.getValue() instanceof TensorRef t) {
                if (out.put(name, t) != null) throw new CheckpointException(where + ": two tensors are named '" + name + "'");
            } else if (e.getValue() instanceof Map<?, ?> inner) {
                collect(inner, name + ".", out, skipped, seen, depth + 1, where);
            } else {
                skipped[0]++;
            }
        }
    }

    /** A value as a line: scalars as they are (long strings cut), containers by size. */
    static String summary(Object v) {
        if (v == null) return "None";
        if (v instanceof String s) {
            String line = s.replace('\n', ' ');
            return line.length() > 60 ? "'" + line.substring(0, 57) + "…' (" + s.length() + " characters)" : "'" + line + "'";
        }
        if (v instanceof Long || v instanceof Double || v instanceof Boolean || v instanceof java.math.BigInteger) return v.toString();
        if (v instanceof TensorRef t) return t.toString();
        if (v instanceof Map<?, ?> m) {
            long tensors = m.values().stream().filter(x -> x instanceof TensorRef).count();
            return "dict of " + m.size() + " entries" + (tensors > 0 ? " (" + tensors + " tensors)" : "");
        }
        if (v instanceof List<?> l) return "list of " + l.size();
        if (v instanceof PyTuple t) return "tuple of " + t.size();
        if (v instanceof Set<?> s) return "set of " + s.size();
        if (v instanceof byte[] b) return b.length + " bytes";
        return Unpickler.describe(v);
    }

    /** Top-level entries other than the state dict, as metadata: scalars and strings as their text, others summarised. */
    Map<String, String> metadata(Object top) {
        Map<String, String> m = new LinkedHashMap<>();
        if (stateDictKey == null || !(top instanceof Map<?, ?> dict)) return m;
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            String key = String.valueOf(e.getKey());
            if (key.equals(stateDictKey)) continue;
            Object v = e.getValue();
            m.put(key, v instanceof String s ? s : summary(v));
        }
        return m;
    }
}
