package dev.retort.pytorch;

import dev.retort.safetensors.DType;

/** The typed storage classes PyTorch names in a checkpoint's persistent ids, with the element type each holds. */
public enum StorageType {
    FloatStorage(DType.F32), DoubleStorage(DType.F64), HalfStorage(DType.F16), BFloat16Storage(DType.BF16),
    LongStorage(DType.I64), IntStorage(DType.I32), ShortStorage(DType.I16), CharStorage(DType.I8), ByteStorage(DType.U8),
    BoolStorage(DType.BOOL);

    private final DType dtype;

    StorageType(DType dtype) {
        this.dtype = dtype;
    }

    public DType dtype() {
        return dtype;
    }

    /** The Python name, e.g. {@code torch.FloatStorage}. */
    public String pythonName() {
        return "torch." + name();
    }
}
