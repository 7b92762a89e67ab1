package dev.retort.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.nio.FloatBuffer;
import java.util.concurrent.atomic.LongAdder;

/**
 * The one way Retort's step path moves data between Java and an array's device, and the count of every such move.
 * On a GPU each one waits for the device's queue (a read waits for the work that produces the value, an upload from
 * pageable Java memory is a synchronous copy), so a step's speed depends on how few there are. DJL 0.35.1 offers no
 * hook on its reads or on arrays made from Java data, so the count is kept here: a guard test
 * ({@code HostTransferGuardTest}) fails when a class calls those DJL methods directly, outside a named list of places
 * that are off the step path (weights IO, evaluation, parity, …).
 *
 * <p>Three kinds are counted, process-wide: {@link Kind#UPLOAD} (an array made from Java data), {@link Kind#READ} (an
 * array's values read into Java) and {@link Kind#SYNC} (a wait for the device that only timers ask for,
 * {@link DeviceSync}; nothing on the CPU). A benchmark or a test takes a {@link #count()} before and after and
 * subtracts.
 */
public final class HostTransfers {
    /** What crossed between Java and the device. */
    public enum Kind {
        /** An array made from Java data (a host-to-device copy on a GPU). */
        UPLOAD,
        /** An array's values read into Java (a device-to-host copy on a GPU, which waits for the work producing them). */
        READ,
        /** A wait for the device's queue that a timer asks for (on a GPU only). */
        SYNC
    }

    /**
     * Transfers counted so far in this process (or, as a difference, between two counts).
     *
     * @param uploads arrays made from Java data
     * @param reads   arrays read into Java
     * @param syncs   timers' waits for a GPU
     */
    public record Count(long uploads, long reads, long syncs) {
        /** This count less an earlier one: what happened in between. */
        public Count minus(Count earlier) {
            return new Count(uploads - earlier.uploads, reads - earlier.reads, syncs - earlier.syncs);
        }

        /** Uploads and reads together (the transfers a step makes; timers' waits are not the step's). */
        public long transfers() {
            return uploads + reads;
        }
    }

    private static final LongAdder UPLOADS = new LongAdder(), READS = new LongAdder(), SYNCS = new LongAdder();

    private HostTransfers() {}

    /** What has been counted so far. */
    public static Count count() {
        return new Count(UPLOADS.sum(), READS.sum(), SYNCS.sum());
    }

    static void counted(Kind kind) {
        (kind == Kind.UPLOAD ? UPLOADS : kind == Kind.READ ? READS : SYNCS).increment();
    }

    // ---- uploads -------------------------------------------------------------------------------------------------

    /** A float32 array of {@code shape} made from {@code values}, on {@code manager}'s device: one upload. */
    public static NDArray upload(NDManager manager, float[] values, Shape shape) {
        counted(Kind.UPLOAD);
        return manager.create(values, shape);
    }

    /** An int64 array of {@code shape} made from {@code values}, on {@code manager}'s device: one upload. */
    public static NDArray upload(NDManager manager, long[] values, Shape shape) {
        counted(Kind.UPLOAD);
        return manager.create(values, shape);
    }

    /** Overwrites a float32 array's values in place with {@code values} (as many as it holds): one upload. */
    public static void assign(NDArray a, float[] values) {
        counted(Kind.UPLOAD);
        a.set(FloatBuffer.wrap(values));
    }

    /**
     * {@code a[index] = value}: DJL makes the value an array from Java memory first (one upload). Only the optimizer's
     * per-operation baseline still zeroes gradients this way.
     */
    public static void set(NDArray a, NDIndex index, Number value) {
        counted(Kind.UPLOAD);
        a.set(index, value);
    }

    // ---- reads ---------------------------------------------------------------------------------------------------

    /** The values of a float32 array: one read. */
    public static float[] floats(NDArray a) {
        counted(Kind.READ);
        return a.toFloatArray();
    }

    /** The values of a boolean array: one read. */
    public static boolean[] booleans(NDArray a) {
        counted(Kind.READ);
        return a.toBooleanArray();
    }

    /** The value of a one-element boolean array: one read. */
    public static boolean bool(NDArray a) {
        counted(Kind.READ);
        return a.getBoolean();
    }

    /** The raw bytes of an array (any type DJL knows, or one element of a bfloat16 array for a wait): one read. */
    public static byte[] bytes(NDArray a) {
        counted(Kind.READ);
        return a.toByteArray();
    }

    /** Reads {@code a}'s first element only to wait for the device's queue ({@link DeviceSync}): counted as a sync. */
    static void await(NDArray a) {
        counted(Kind.SYNC);
        a.toByteArray();
    }
}
