package dev.retort.weights;

import dev.retort.safetensors.TensorInfo;
import dev.retort.safetensors.TensorSource;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** A source whose every key starts with a prefix ({@code module.} of nn.DataParallel), seen without it. */
final class WithoutPrefix implements TensorSource {
    private final TensorSource inner;
    private final String prefix;
    private final Map<String, TensorInfo> tensors;

    WithoutPrefix(TensorSource inner, String prefix) {
        this.inner = inner;
        this.prefix = prefix;
        Map<String, TensorInfo> m = new LinkedHashMap<>();
        inner.tensors().forEach((k, t) -> {
            String name = k.substring(prefix.length());
            m.put(name, new TensorInfo(name, t.dtype(), t.shape(), t.begin(), t.end()));
        });
        this.tensors = Collections.unmodifiableMap(m);
    }

    @Override
    public Path path() {
        return inner.path();
    }

    @Override
    public String format() {
        return inner.format() + ", '" + prefix + "' prefix removed";
    }

    @Override
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    @Override
    public Map<String, String> metadata() {
        return inner.metadata();
    }

    @Override
    public TensorInfo info(String name) throws IOException {
        TensorInfo t = tensors.get(name);
        if (t == null) throw new WeightsException(path() + ": no tensor '" + name + "'");
        return t;
    }

    @Override
    public float[] readFloats(String name) throws IOException {
        info(name);
        return inner.readFloats(prefix + name);
    }

    @Override
    public long[] readLongs(String name) throws IOException {
        info(name);
        return inner.readLongs(prefix + name);
    }

    @Override
    public void close() throws IOException {
        inner.close();
    }
}
