package dev.retort.backbones.pvtv2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.retort.api.error.RetortConfigException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** PVTv2's overrides read as MiT's (both through nn.Settings): 1.7 where an integer belongs is a user error. */
class PvtConfigTest {
    @Test
    void aFractionWhereAnIntegerBelongsIsRefused() {
        assertEquals("pvtv2-b0: in_channels must be an integer, got '1.7'", refused(Map.of("in_channels", "1.7")));
        assertEquals("pvtv2-b0: embed_dims must be a list of integers, got '8,16.5'", refused(Map.of("embed_dims", "8,16.5")));
    }

    private static String refused(Map<String, ?> overrides) {
        return assertInstanceOf(RetortConfigException.class, assertThrows(IllegalArgumentException.class, () -> PvtConfig.of("pvtv2-b0", overrides)))
                .getMessage();
    }
}
