package dev.retort.nn;

import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.JniUtils;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * A TorchScript module written in memory from its source (no file, no Python) and loaded through DJL: the way to reach
 * libtorch operations DJL 0.35.1 does not name. The module holds no tensor, only methods; the archive is what
 * TorchScript's own serializer writes for such a module: the source, a pickled module object with its one attribute
 * ({@code training = False}), no constants.
 */
final class ScriptModule {
    private ScriptModule() {}

    /** Loads the module {@code className} of {@code source} (class body in TorchScript's serialized-code dialect) into {@code cpu}. */
    static PtSymbolBlock load(NDManager cpu, String className, String source) {
        try {
            return JniUtils.loadModule((PtNDManager) cpu, new ByteArrayInputStream(archive(className, source)), false, false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The archive of a module class {@code __torch__.<className>} defined in {@code source}. */
    static byte[] archive(String className, String source) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            String root = className.toLowerCase(java.util.Locale.ROOT);
            try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
                stored(zip, root + "/version", "3\n".getBytes(StandardCharsets.US_ASCII));
                stored(zip, root + "/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
                stored(zip, root + "/code/__torch__.py", source.getBytes(StandardCharsets.UTF_8));
                stored(zip, root + "/constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'});
                stored(zip, root + "/data.pkl", moduleObject(className));
            }
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Pickle protocol 2 of {@code __torch__.<className>} with {@code training = False}, as TorchScript's pickler writes objects. */
    private static byte[] moduleObject(String className) {
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        p.write(0x80);
        p.write(2); // PROTO 2
        p.writeBytes(("c__torch__\n" + className + "\n").getBytes(StandardCharsets.US_ASCII)); // GLOBAL
        p.write(')'); // EMPTY_TUPLE
        p.write(0x81); // NEWOBJ
        p.write('}'); // EMPTY_DICT
        p.write('('); // MARK
        byte[] name = "training".getBytes(StandardCharsets.US_ASCII);
        p.write('X'); // BINUNICODE
        p.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(name.length).array());
        p.writeBytes(name);
        p.write(0x89); // NEWFALSE
        p.write('u'); // SETITEMS
        p.write('b'); // BUILD
        p.write('.'); // STOP
        return p.toByteArray();
    }

    private static void stored(ZipOutputStream zip, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        e.setCompressedSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        zip.putNextEntry(e);
        zip.write(data);
        zip.closeEntry();
    }
}
