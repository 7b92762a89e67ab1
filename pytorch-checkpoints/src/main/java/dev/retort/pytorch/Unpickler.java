package dev.retort.pytorch;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads one pickle (protocol 2) with only the opcodes PyTorch checkpoints use, each other one refused by name, and only
 * the globals of {@link AllowedGlobal}, each implemented here: a global outside the allowlist is refused when the pickle
 * names it, before anything could call it. Values come out as plain Java: {@code Map} (dict, OrderedDict),
 * {@code List} (list), {@link PyTuple}, {@code Set}, {@code String}, {@code Long} or {@code BigInteger}, {@code Double},
 * {@code Boolean}, {@code byte[]}, null (None), and {@link TensorRef} for tensors.
 *
 * <p>Every length is checked against the bytes left before anything is allocated, so a corrupted or hostile pickle
 * costs at most memory in proportion to its own size.
 */
final class Unpickler {
    /** Turns a persistent id (a tuple beginning with {@code 'storage'}) into a {@link StorageRef}. */
    interface PersistentLoader {
        StorageRef load(PyTuple pid) throws CheckpointException;
    }

    /** Tuples nested deeper than this are refused (they only serve to exhaust the stack when hashed). */
    static final int MAX_TUPLE_DEPTH = 64;
    private static final Object MARK = new Object() {
        @Override
        public String toString() {
            return "MARK";
        }
    };

    private final ByteBuffer in;
    private final String where;
    private final PersistentLoader persistent;
    private final List<Object> stack = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();
    private int pos;

    /**
     * @param in         the bytes; the pickle starts at {@code start} and may be followed by other data
     * @param where      the file and entry, for messages
     * @param persistent resolves storages; null where a pickle must hold none
     */
    Unpickler(ByteBuffer in, int start, String where, PersistentLoader persistent) {
        this.in = in.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        this.pos = start;
        this.where = where;
        this.persistent = persistent;
    }

    /** The position after the STOP opcode (where a following pickle starts), valid after {@link #load}. */
    int position() {
        return pos;
    }

    Object load() throws CheckpointException {
        while (true) {
            int at = pos;
            int op = u8();
            switch (op) {
                case 0x80 -> {  // PROTO
                    int v = u8();
                    if (v != 2) throw fail(at, "pickle protocol " + v + "; torch.save writes protocol 2 (its default), the only one read");
                }
                case '.' -> {  // STOP
                    if (stack.size() != 1 || !marks.isEmpty()) throw fail(at, "STOP with " + stack.size() + " values on the stack (corrupted pickle)");
                    return stack.get(0);
                }
                case '(' -> { marks.add(stack.size()); stack.add(MARK); }
                case ')' -> push(new PyTuple(List.of()));
                case 't' -> push(tuple(popMark(at), at));
                case 0x85 -> push(tuple(pop(1, at), at));
                case 0x86 -> push(tuple(pop(2, at), at));
                case 0x87 -> push(tuple(pop(3, at), at));
                case ']' -> push(new ArrayList<>());
                case '}' -> push(new LinkedHashMap<>());
                case 0x8f -> push(new LinkedHashSet<>());
                case 'N' -> push(null);
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'K' -> push((long) u8());
                case 'M' -> push((long) (u8() | u8() << 8));
                case 'J' -> push((long) i32());
                case 0x8a -> push(long1(at));
                case 'G' -> { need(8, at); double d = in.duplicate().order(ByteOrder.BIG_ENDIAN).getDouble(pos); pos += 8; push(d); }
                case 'X' -> push(utf8(length(i32(), at), at));
                case 'U' -> push(text(bytes(u8(), at)));
                case 'T' -> push(text(bytes(length(i32(), at), at)));
                case 'q' -> memo.put((long) u8(), top(at));
                case 'r' -> memo.put(i32() & 0xffffffffL, top(at));
                case 'h' -> push(memo(u8(), at));
                case 'j' -> push(memo(i32() & 0xffffffffL, at));
                case 'a' -> { Object v = pop(at); list(top(at), at).add(v); }
                case 'e' -> { List<Object> items = popMark(at); list(top(at), at).addAll(items); }
                case 's' -> { Object v = pop(at), k = pop(at); put(top(at), k, v, at); }
                case 'u' -> {
                    List<Object> items = popMark(at);
                    if (items.size() % 2 != 0) throw fail(at, "SETITEMS with an odd number of items (corrupted pickle)");
                    Object dict = top(at);
                    for (int i = 0; i < items.size(); i += 2) put(dict, items.get(i), items.get(i + 1), at);
                }
                case 'c' -> {
                    String module = line(at), name = line(at);
                    Object g = AllowedGlobal.resolve(module, name);
                    if (g == null) {
                        throw fail(at, "it names the global " + module + "." + name + ", which is not on the allowlist of what a PyTorch"
                                + " weights file needs (tensor rebuild functions, storage types, collections.OrderedDict and the few"
                                + " builtins torch.load(weights_only=True) allows): refused, nothing in the file was run");
                    }
                    push(g);
                }
                case 'R' -> { PyTuple args = tupleArg(pop(at), at); push(call(pop(at), args, at)); }
                case 0x81 -> { PyTuple args = tupleArg(pop(at), at); push(call(pop(at), args, at)); }  // NEWOBJ: cls(*args)
                case 'b' -> build(pop(at), top(at), at);
                case 'Q' -> {
                    if (persistent == null) throw fail(at, "a persistent id where none may be (corrupted pickle)");
                    if (!(pop(at) instanceof PyTuple pid)) throw fail(at, "a persistent id that is not a tuple");
                    push(persistent.load(pid));
                }
                default -> throw fail(at, "pickle opcode " + Opcodes.name(op) + String.format(" (0x%02x)", op)
                        + " is not one that PyTorch checkpoints use: refused");
            }
        }
    }

    // ---- calls of allowed globals ------------------------------------------------------------------------------

    private Object call(Object callable, PyTuple args, int at) throws CheckpointException {
        if (!(callable instanceof AllowedGlobal g) || g == AllowedGlobal.TENSOR || g == AllowedGlobal.PARAMETER) {
            throw fail(at, "a call of " + describe(callable) + ", which a weights file never calls: refused");
        }
        return switch (g) {
            case ORDERED_DICT -> {
                Map<Object, Object> m = new LinkedHashMap<>();
                if (args.size() == 1 && args.get(0) instanceof List<?> pairs) {
                    for (Object p : pairs) {
                        if (!(p instanceof PyTuple t) || t.size() != 2) throw fail(at, "OrderedDict of something other than pairs");
                        put(m, t.get(0), t.get(1), at);
                    }
                } else if (args.size() != 0) {
                    throw fail(at, "OrderedDict called with " + args.size() + " arguments");
                }
                yield m;
            }
            case REBUILD_TENSOR, REBUILD_TENSOR_V2 -> {
                int min = g == AllowedGlobal.REBUILD_TENSOR ? 4 : 6, max = g == AllowedGlobal.REBUILD_TENSOR ? 4 : 7;
                if (args.size() < min || args.size() > max) throw fail(at, g + " called with " + args.size() + " arguments");
                if (!(args.get(0) instanceof StorageRef storage)) throw fail(at, g + " of " + describe(args.get(0)) + " instead of a storage");
                long offset = integer(args.get(1), g + " storage offset", at);
                long[] size = dims(args.get(2), g + " size", at), stride = dims(args.get(3), g + " stride", at);
                if (size.length != stride.length) throw fail(at, g + " with " + size.length + " sizes but " + stride.length + " strides");
                yield new TensorRef(storage, offset, size, stride);
            }
            case REBUILD_PARAMETER, REBUILD_PARAMETER_WITH_STATE -> {
                int n = g == AllowedGlobal.REBUILD_PARAMETER ? 3 : 4;
                if (args.size() != n || !(args.get(0) instanceof TensorRef t)) throw fail(at, g + " of something other than a tensor");
                yield t;
            }
            case REBUILD_FROM_TYPE_V2 -> {
                if (args.size() != 4) throw fail(at, g + " called with " + args.size() + " arguments");
                Object type = args.get(1);
                if (type != AllowedGlobal.TENSOR && type != AllowedGlobal.PARAMETER) {
                    throw fail(at, g + " of type " + describe(type) + " (only torch.Tensor and torch.nn.parameter.Parameter are read)");
                }
                Object rebuilt = call(args.get(0), tupleArg(args.get(2), at), at);
                if (!(rebuilt instanceof TensorRef)) throw fail(at, g + " that does not rebuild a tensor");
                yield rebuilt;
            }
            case SIZE -> {
                if (args.size() != 1 || !(args.get(0) instanceof PyTuple t)) throw fail(at, "torch.Size of something other than a tuple");
                yield t;
            }
            case DEVICE -> {
                if (args.size() == 0 || args.size() > 2 || !(args.get(0) instanceof String type)) throw fail(at, "torch.device with arguments it does not take");
                yield args.size() == 2 ? type + ":" + integer(args.get(1), "device index", at) : type;
            }
            case SET -> {
                Set<Object> s = new LinkedHashSet<>();
                if (args.size() == 1 && args.get(0) instanceof List<?> items) {
                    for (Object o : items) s.add(hashable(o, at));
                } else if (args.size() != 0) {
                    throw fail(at, "set called with arguments it does not take");
                }
                yield s;
            }
            case CODECS_ENCODE -> {
                if (args.size() != 2 || !(args.get(0) instanceof String text) || !(args.get(1) instanceof String enc)
                        || !(enc.equals("latin1") || enc.equals("latin-1"))) {
                    throw fail(at, "_codecs.encode with arguments other than (text, 'latin1')");
                }
                yield text.getBytes(StandardCharsets.ISO_8859_1);
            }
            case TENSOR, PARAMETER -> throw new IllegalStateException();
        };
    }

    /** BUILD sets an object's state: only a dict's (OrderedDict's {@code _metadata}) and a tensor's, both ignored. */
    private void build(Object state, Object target, int at) throws CheckpointException {
        if (target instanceof Map<?, ?> || target instanceof TensorRef) return;
        throw fail(at, "BUILD on " + describe(target) + ", which a weights file never does: refused");
    }

    // ---- stack and values ----------------------------------------------------------------------------------------

    private void push(Object o) {
        stack.add(o);
    }

    private Object pop(int at) throws CheckpointException {
        if (stack.isEmpty() || stack.get(stack.size() - 1) == MARK) throw fail(at, "the pickle's stack runs empty (corrupted pickle)");
        return stack.remove(stack.size() - 1);
    }

    private Object top(int at) throws CheckpointException {
        if (stack.isEmpty() || stack.get(stack.size() - 1) == MARK) throw fail(at, "the pickle's stack runs empty (corrupted pickle)");
        return stack.get(stack.size() - 1);
    }

    private List<Object> pop(int n, int at) throws CheckpointException {
        Object[] items = new Object[n];
        for (int i = n - 1; i >= 0; i--) items[i] = pop(at);
        return java.util.Arrays.asList(items);
    }

    private List<Object> popMark(int at) throws CheckpointException {
        if (marks.isEmpty()) throw fail(at, "an opcode that needs a MARK without one (corrupted pickle)");
        int m = marks.remove(marks.size() - 1);
        List<Object> items = new ArrayList<>(stack.subList(m + 1, stack.size()));
        stack.subList(m, stack.size()).clear();
        return items;
    }

    private Object memo(long key, int at) throws CheckpointException {
        if (!memo.containsKey(key)) throw fail(at, "a memo entry " + key + " that was never stored (corrupted pickle)");
        return memo.get(key);
    }

    private PyTuple tuple(List<Object> items, int at) throws CheckpointException {
        for (Object o : items) if (o == MARK) throw fail(at, "a MARK inside a tuple (corrupted pickle)");
        PyTuple t = new PyTuple(items);
        depth(t, 0, at);
        return t;
    }

    private void depth(Object o, int d, int at) throws CheckpointException {
        if (!(o instanceof PyTuple t)) return;
        if (d > MAX_TUPLE_DEPTH) throw fail(at, "tuples nested deeper than " + MAX_TUPLE_DEPTH + " (not a weights file)");
        for (Object item : t.items()) depth(item, d + 1, at);
    }

    private PyTuple tupleArg(Object o, int at) throws CheckpointException {
        if (!(o instanceof PyTuple t)) throw fail(at, "call arguments that are " + describe(o) + ", not a tuple (corrupted pickle)");
        return t;
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object o, int at) throws CheckpointException {
        if (!(o instanceof List<?> l)) throw fail(at, "APPEND to " + describe(o) + ", not a list (corrupted pickle)");
        return (List<Object>) l;
    }

    @SuppressWarnings("unchecked")
    private void put(Object dict, Object key, Object value, int at) throws CheckpointException {
        if (!(dict instanceof Map<?, ?> m)) throw fail(at, "SETITEM on " + describe(dict) + ", not a dict (corrupted pickle)");
        if (key == MARK || value == MARK) throw fail(at, "a MARK as a dict item (corrupted pickle)");
        ((Map<Object, Object>) m).put(hashable(key, at), value);
    }

    /** A dict key or set item: immutable values only (what Python can hash). */
    private Object hashable(Object o, int at) throws CheckpointException {
        if (o == null || o instanceof String || o instanceof Long || o instanceof BigInteger || o instanceof Double || o instanceof Boolean) return o;
        if (o instanceof PyTuple t) {
            for (Object item : t.items()) hashable(item, at);
            return t;
        }
        throw fail(at, "a dict key or set item that is " + describe(o) + " (corrupted pickle)");
    }

    private long integer(Object o, String what, int at) throws CheckpointException {
        if (o instanceof Long l) return l;
        throw fail(at, what + " is " + describe(o) + ", not an integer");
    }

    private long[] dims(Object o, String what, int at) throws CheckpointException {
        if (!(o instanceof PyTuple t)) throw fail(at, what + " is " + describe(o) + ", not a tuple");
        long[] out = new long[t.size()];
        for (int i = 0; i < out.length; i++) out[i] = integer(t.get(i), what, at);
        return out;
    }

    static String describe(Object o) {
        if (o == null) return "None";
        if (o instanceof AllowedGlobal g) return g.pythonName();
        if (o instanceof StorageType t) return t.pythonName();
        if (o instanceof String) return "a string";
        if (o instanceof Long || o instanceof BigInteger) return "an integer";
        if (o instanceof Double) return "a float";
        if (o instanceof Boolean) return "a bool";
        if (o instanceof Map<?, ?>) return "a dict";
        if (o instanceof List<?>) return "a list";
        if (o instanceof Set<?>) return "a set";
        if (o instanceof PyTuple) return "a tuple";
        if (o instanceof TensorRef) return "a tensor";
        if (o instanceof StorageRef) return "a storage";
        if (o instanceof byte[]) return "bytes";
        return o.getClass().getSimpleName();
    }

    // ---- reading bytes ---------------------------------------------------------------------------------------------

    private void need(long n, int at) throws CheckpointException {
        if (n > in.limit() - pos) throw fail(at, "the pickle ends before its STOP opcode (truncated file?)");
    }

    private int u8() throws CheckpointException {
        need(1, pos);
        return in.get(pos++) & 0xff;
    }

    private int i32() throws CheckpointException {
        need(4, pos);
        int v = in.getInt(pos);
        pos += 4;
        return v;
    }

    private int length(int n, int at) throws CheckpointException {
        if (n < 0) throw fail(at, "a negative length " + n + " (corrupted pickle)");
        need(n, at);
        return n;
    }

    private byte[] bytes(int n, int at) throws CheckpointException {
        need(n, at);
        byte[] b = new byte[n];
        in.get(pos, b);
        pos += n;
        return b;
    }

    private String utf8(int n, int at) throws CheckpointException {
        byte[] b = bytes(n, at);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw fail(at, "a string that is not valid UTF-8 (corrupted pickle)");
        }
    }

    /** Python 2 strings: UTF-8 where they are (as torch.load's default encoding reads them), else Latin-1. */
    private static String text(byte[] b) {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            return new String(b, StandardCharsets.ISO_8859_1);
        }
    }

    private Object long1(int at) throws CheckpointException {
        byte[] le = bytes(u8(), at);
        if (le.length == 0) return 0L;
        byte[] be = new byte[le.length];
        for (int i = 0; i < le.length; i++) be[i] = le[le.length - 1 - i];
        BigInteger v = new BigInteger(be);  // two's complement, as LONG1 stores it
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    /** A GLOBAL operand: printable ASCII up to a newline, at most 256 bytes. */
    private String line(int at) throws CheckpointException {
        StringBuilder b = new StringBuilder();
        while (true) {
            int c = u8();
            if (c == '\n') break;
            if (c < 0x20 || c > 0x7e || b.length() >= 256) throw fail(at, "a GLOBAL whose name is not printable text (corrupted pickle)");
            b.append((char) c);
        }
        if (b.isEmpty()) throw fail(at, "a GLOBAL with an empty name (corrupted pickle)");
        return b.toString();
    }

    private CheckpointException fail(int at, String problem) {
        return new CheckpointException(where + " (byte " + at + "): " + problem);
    }
}
