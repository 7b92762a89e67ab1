package dev.retort.pytorch;

/**
 * A storage a checkpoint's pickle refers to by persistent id: its record key, element type, the device it was saved
 * from and its length in elements.
 */
public record StorageRef(String key, StorageType type, String location, long elements) {
    public long bytes() {
        return elements * type.dtype().bytes();
    }
}
