package dev.retort.backbones.mit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.retort.api.error.RetortConfigException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A MiT architecture override reads as every Retort setting: 1.7 where an integer belongs is refused, never truncated to 1. */
class MitConfigTest {
    @Test
    void aFractionWhereAnIntegerBelongsIsRefused() {
        assertEquals("mit-b0: in_channels must be an integer, got '1.7'", refused(Map.of("in_channels", "1.7")));
        assertEquals("mit-b0: decoder_dim must be an integer, got '1.7'", refused(Map.of("decoder_dim", 1.7)));
        assertEquals("mit-b0: depths must be a list of integers, got '1.7,2,2,2'", refused(Map.of("depths", "1.7,2,2,2")));
    }

    @Test
    void aMisspeltKeyIsRefusedWithTheClosestKey() {
        String m = refused(Map.of("embed_dim", "8,16"));
        assertEquals("mit-b0: unknown key 'embed_dim' (did you mean embed_dims?); known keys: decoder_dim, depths, drop_path_rate, embed_dims, "
                + "head_dropout, in_channels, mlp_ratios, num_classes, num_heads, patch_sizes, sr_ratios, strides", m);
    }

    @Test
    void listsAndWholeNumbersInEveryFormRead() {
        MitConfig c = MitConfig.of("mit-b0", Map.of("embed_dims", new int[] {8, 16}, "depths", List.of(1, 1), "num_heads", "[1, 2]",
                "sr_ratios", new long[] {2, 1}, "mlp_ratios", "4 4", "patch_sizes", "7,3", "strides", "4,2", "decoder_dim", "16.0",
                "num_classes", 3, "service.pid", "ignored"));
        assertArrayEquals(new int[] {8, 16}, c.embedDims());
        assertArrayEquals(new int[] {1, 1}, c.depths());
        assertArrayEquals(new int[] {1, 2}, c.heads());
        assertArrayEquals(new int[] {2, 1}, c.srRatios());
        assertEquals(16, c.decoderDim());
        assertEquals(3, c.classes());
    }

    private static String refused(Map<String, ?> overrides) {
        return assertInstanceOf(RetortConfigException.class, assertThrows(IllegalArgumentException.class, () -> MitConfig.of("mit-b0", overrides)))
                .getMessage();
    }
}
