package dev.retort.datasets;

import java.util.List;

/** The 19 Cityscapes train classes, their palette, the reference's loss weights and the official id mapping. */
public final class CityscapesClasses {
    public static final List<String> NAMES = List.of("road", "sidewalk", "building", "wall", "fence", "pole", "traffic light",
            "traffic sign", "vegetation", "terrain", "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle");

    static final int[] PALETTE = {0x804080, 0xF423E8, 0x464646, 0x66669C, 0xBE9999, 0x999999, 0xFAAA1E, 0xDCDC00, 0x6B8E23,
            0x98FB98, 0x4682B4, 0xDC143C, 0xFF0000, 0x00008E, 0x000046, 0x003C64, 0x005064, 0x0000E6, 0x770B20};

    /** ERFNet's Cityscapes weights used by TransKD for every dataset in this label space (spec §8.3); ignore = 0. */
    static final float[] TRANSKD_WEIGHTS = {2.5959737f, 6.741505f, 3.5353868f, 9.866315f, 9.690922f, 9.369371f, 10.289124f,
            9.953209f, 4.3098087f, 9.490392f, 7.674411f, 9.396925f, 10.347794f, 6.3928986f, 10.226673f, 10.241072f, 10.28059f,
            10.396977f, 10.05567f, 0f};

    /** labelIds (0..33) to trainIds, 255 = ignore (cityscapesScripts' labels.py). */
    private static final int[] LABEL_TO_TRAIN = {255, 255, 255, 255, 255, 255, 255, 0, 1, 255, 255, 2, 3, 4, 255, 255, 255, 5,
            255, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 255, 255, 16, 17, 18};

    private CityscapesClasses() {}

    /** The palette, a copy: the array stays this class's own. */
    public static int[] palette() {
        return PALETTE.clone();
    }

    /** The TransKD loss weights, a copy. */
    public static float[] transkdWeights() {
        return TRANSKD_WEIGHTS.clone();
    }

    /** A trainIds value: 0..18 or 255. */
    public static int trainId(int raw) {
        return raw < NAMES.size() || raw == Protocols.IGNORE ? raw : -1;
    }

    /** A labelIds value mapped to its trainId; unknown ids (e.g. -1 license plate, stored as 255) are ignored. */
    public static int fromLabelId(int raw) {
        return raw >= 0 && raw < LABEL_TO_TRAIN.length ? LABEL_TO_TRAIN[raw] : raw == 255 ? Protocols.IGNORE : -1;
    }
}
