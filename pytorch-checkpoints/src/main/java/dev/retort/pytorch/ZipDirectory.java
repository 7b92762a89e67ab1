package dev.retort.pytorch;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * The central directory of a zip archive (ZIP64 included), read without trusting it: every entry's data must lie inside
 * the file before the directory, names must be unique, and an entry is only ever inflated up to its declared size and a
 * fixed bound. {@code java.util.zip.ZipFile} does not give the data offsets that memory-mapped reads need.
 */
final class ZipDirectory {
    /** An entry: its data starts at {@code dataOffset} and is {@code compressedSize} bytes long in the file. */
    record Entry(String name, int method, long compressedSize, long size, long crc, long dataOffset) {
        boolean stored() {
            return method == 0;
        }
    }

    static final int STORED = 0, DEFLATED = 8;
    private static final int EOCD = 0x06054b50, ZIP64_EOCD = 0x06064b50, ZIP64_LOCATOR = 0x07064b50, CENTRAL = 0x02014b50,
            LOCAL = 0x04034b50;
    private static final long MAX_DIRECTORY_BYTES = 256L << 20;

    private final Path path;
    private final FileChannel channel;
    private final Map<String, Entry> entries;

    private ZipDirectory(Path path, FileChannel channel, Map<String, Entry> entries) {
        this.path = path;
        this.channel = channel;
        this.entries = entries;
    }

    Map<String, Entry> entries() {
        return entries;
    }

    static ZipDirectory read(Path path, FileChannel channel) throws IOException {
        long size = channel.size();
        int tail = (int) Math.min(size, 22 + 0xffff);
        ByteBuffer end = read(channel, size - tail, tail, path);
        int eocd = -1;
        for (int i = tail - 22; i >= 0; i--) {
            if (end.getInt(i) == EOCD && i + 22 + (end.getShort(i + 20) & 0xffff) == tail) {
                eocd = i;
                break;
            }
        }
        if (eocd < 0) throw fail(path, "no zip end-of-directory record: the archive is truncated or not a zip file");
        long eocdPos = size - tail + eocd;
        long count = end.getShort(eocd + 10) & 0xffff;
        long dirSize = end.getInt(eocd + 12) & 0xffffffffL, dirOffset = end.getInt(eocd + 16) & 0xffffffffL;
        long dirEnd = eocdPos;
        if (count == 0xffff || dirSize == 0xffffffffL || dirOffset == 0xffffffffL) {
            if (eocdPos < 20) throw fail(path, "a ZIP64 archive without its locator (truncated?)");
            ByteBuffer loc = read(channel, eocdPos - 20, 20, path);
            if (loc.getInt(0) != ZIP64_LOCATOR) throw fail(path, "a ZIP64 archive without its locator (corrupted)");
            long z = loc.getLong(8);
            if (z < 0 || z > eocdPos - 56) throw fail(path, "ZIP64 end record offset " + z + " lies outside the file");
            ByteBuffer z64 = read(channel, z, 56, path);
            if (z64.getInt(0) != ZIP64_EOCD) throw fail(path, "no ZIP64 end record where its locator points (corrupted)");
            count = z64.getLong(32);
            dirSize = z64.getLong(40);
            dirOffset = z64.getLong(48);
            dirEnd = z;
        }
        if (dirOffset < 0 || dirSize < 0 || dirOffset > dirEnd || dirSize > dirEnd - dirOffset) {
            throw fail(path, "the zip directory (" + dirSize + " bytes at " + dirOffset + ") lies outside the file of " + size + " bytes (truncated?)");
        }
        if (dirSize > MAX_DIRECTORY_BYTES) throw fail(path, "a zip directory of " + dirSize + " bytes (at most " + MAX_DIRECTORY_BYTES + ")");
        ByteBuffer dir = read(channel, dirOffset, (int) dirSize, path);
        Map<String, Entry> entries = new LinkedHashMap<>();
        int p = 0;
        for (long n = 0; n < count; n++) {
            if (p + 46 > dir.limit() || dir.getInt(p) != CENTRAL) throw fail(path, "zip directory entry " + n + " is corrupted");
            int flags = dir.getShort(p + 8) & 0xffff, method = dir.getShort(p + 10) & 0xffff;
            long crc = dir.getInt(p + 16) & 0xffffffffL;
            long csize = dir.getInt(p + 20) & 0xffffffffL, usize = dir.getInt(p + 24) & 0xffffffffL;
            int nameLen = dir.getShort(p + 28) & 0xffff, extraLen = dir.getShort(p + 30) & 0xffff, commentLen = dir.getShort(p + 32) & 0xffff;
            long local = dir.getInt(p + 42) & 0xffffffffL;
            if (p + 46L + nameLen + extraLen + commentLen > dir.limit()) throw fail(path, "zip directory entry " + n + " is corrupted");
            byte[] nameBytes = new byte[nameLen];
            dir.get(p + 46, nameBytes);
            String name = new String(nameBytes, StandardCharsets.UTF_8);
            int e = p + 46 + nameLen, extraEnd = e + extraLen;
            while (e + 4 <= extraEnd) {  // ZIP64 extra field: the 64-bit values of the fields set to 0xffffffff, in order
                int id = dir.getShort(e) & 0xffff, len = dir.getShort(e + 2) & 0xffff;
                if (e + 4 + len > extraEnd) break;
                if (id == 1) {
                    int q = e + 4;
                    if (usize == 0xffffffffL && q + 8 <= e + 4 + len) { usize = dir.getLong(q); q += 8; }
                    if (csize == 0xffffffffL && q + 8 <= e + 4 + len) { csize = dir.getLong(q); q += 8; }
                    if (local == 0xffffffffL && q + 8 <= e + 4 + len) { local = dir.getLong(q); }
                }
                e += 4 + len;
            }
            p += 46 + nameLen + extraLen + commentLen;
            String what = "zip entry '" + name + "'";
            if ((flags & 1) != 0) throw fail(path, what + " is encrypted");
            if (method != STORED && method != DEFLATED) throw fail(path, what + " uses compression method " + method + " (only stored and deflated are read)");
            if (csize < 0 || usize < 0 || local < 0 || local > dirOffset - 30) throw fail(path, what + ": its header lies outside the file (truncated?)");
            ByteBuffer lh = read(channel, local, 30, path);
            if (lh.getInt(0) != LOCAL) throw fail(path, what + ": no local header where the directory points (corrupted)");
            long dataOffset = local + 30 + (lh.getShort(26) & 0xffff) + (lh.getShort(28) & 0xffff);
            if (dataOffset > dirOffset || csize > dirOffset - dataOffset) {
                throw fail(path, what + ": its " + csize + " bytes at " + dataOffset + " run past the end of the data (truncated or corrupted file)");
            }
            if (method == STORED && csize != usize) throw fail(path, what + " is stored with sizes " + csize + " and " + usize + " that differ (corrupted)");
            if (entries.put(name, new Entry(name, method, csize, usize, crc, dataOffset)) != null) {
                throw fail(path, "zip entry '" + name + "' appears twice (ambiguous archive)");
            }
        }
        return new ZipDirectory(path, channel, entries);
    }

    /** An entry's bytes in memory, inflated when deflated, refused past {@code max} bytes; the CRC is checked. */
    byte[] bytes(Entry e, long max) throws IOException {
        if (e.size() > max) throw fail(path, "zip entry '" + e.name() + "' holds " + e.size() + " bytes, more than the " + max + " read for it");
        byte[] out = new byte[(int) e.size()];
        if (e.stored()) {
            read(channel, e.dataOffset(), out.length, path).get(out);
        } else {
            if (e.compressedSize() > Integer.MAX_VALUE) throw fail(path, "zip entry '" + e.name() + "' is too large to inflate");
            ByteBuffer packed = read(channel, e.dataOffset(), (int) e.compressedSize(), path);
            Inflater inflater = new Inflater(true);
            try {
                inflater.setInput(packed);
                int n = 0;
                while (n < out.length && !inflater.finished()) {
                    int got = inflater.inflate(out, n, out.length - n);
                    if (got == 0 && (inflater.needsInput() || inflater.needsDictionary())) break;
                    n += got;
                }
                byte[] probe = new byte[1];
                if (n != out.length || (!inflater.finished() && inflater.inflate(probe) > 0)) {
                    throw fail(path, "zip entry '" + e.name() + "' does not inflate to its declared " + e.size() + " bytes (corrupted, or a zip bomb)");
                }
            } catch (DataFormatException ex) {
                throw fail(path, "zip entry '" + e.name() + "' is not valid deflate data (corrupted)");
            } finally {
                inflater.end();
            }
        }
        if (e.crc() != 0) {
            CRC32 crc = new CRC32();
            crc.update(out);
            if (crc.getValue() != e.crc()) throw fail(path, "zip entry '" + e.name() + "' fails its CRC check (corrupted file)");
        }
        return out;
    }

    static ByteBuffer read(FileChannel channel, long position, int length, Path path) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            int r = channel.read(b, position + b.position());
            if (r < 0) throw fail(path, "unexpected end of file at byte " + (position + b.position()) + " (truncated?)");
        }
        return b.flip();
    }

    private static CheckpointException fail(Path path, String problem) {
        return new CheckpointException(path + ": " + problem);
    }
}
