package dev.retort.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class KeysTest {
    @Test
    void typosGetTheClosestKeyAndUnrelatedWordsNone() {
        Set<String> known = Set.of("iterations", "batch_size", "mid_channels", "epochs", "lr");
        assertEquals("iterations", Keys.suggestion("iteratons", known));
        assertEquals("batch_size", Keys.suggestion("bach_size", known));
        assertEquals("mid_channels", Keys.suggestion("mid_chanels", known));
        assertEquals("mid_channels", Keys.suggestion("midChannels", known));
        assertNull(Keys.suggestion("frobnicate", known));
        assertEquals(1, Keys.distance("cfs", "csf"));
    }

    @Test
    void namesWithACommonPrefixAreMeasuredAfterIt() {
        Set<String> pids = Set.of("dev.retort.distill.csf", "dev.retort.distill.pea", "dev.retort.distill.ea", "dev.retort.run");
        assertEquals("dev.retort.distill.csf", Keys.suggestion("dev.retort.distill.cfs", pids));
        assertEquals("dev.retort.distill.pea", Keys.suggestion("dev.retort.distill.Pea", pids));
        assertNull(Keys.suggestion("dev.retort.distill.foo", pids), "three edits in a three-letter name are another name");
        assertEquals("arm.2.iterations", Keys.suggestion("arm.2.iteratons", Set.of("arm.2.iterations", "arm.2.name")));
    }

    @Test
    void bookkeepingAndComponentPropertiesAreNotUserKeys() {
        Keys.requireKnown("x", "", List.of("service.pid", "component.name", "felix.fileinstall.filename", "lr"), Set.of("lr"));
        assertEquals(Map.of("weights", "abc"), Keys.userKeys(Map.of("weights", "abc", "retort.distiller", "pea", "service.pid", "p",
                "engine.target", "(engine.name=PyTorch)"), "retort.distiller"));
        var e = assertThrows(IllegalArgumentException.class, () -> Keys.requireKnown("x", "p.", List.of("b", "a"), Set.of("lr")));
        assertEquals("x: unknown keys 'p.a', 'p.b'; known keys: p.lr", e.getMessage());
    }

    @Test
    void numbersAreFiniteWholeWhereCountedAndInRange() {
        Settings s = new Settings("o", Map.of("n", "NaN", "f", 1.7, "i", "4", "w", "3.0", "l", "1,NaN", "big", "3000000000"));
        assertEquals("o: n must be a finite number, got 'NaN'", assertThrows(IllegalArgumentException.class, () -> s.real("n", 0)).getMessage());
        assertEquals("o: f must be an integer, got '1.7'", assertThrows(IllegalArgumentException.class, () -> s.integer("f", 0)).getMessage());
        assertEquals("o: i must be an integer >= 5, got '4'", assertThrows(IllegalArgumentException.class, () -> s.integer("i", 0, 5)).getMessage());
        assertEquals("o: l must be a list of finite numbers, got '1,NaN'", assertThrows(IllegalArgumentException.class, () -> s.reals("l", new double[0])).getMessage());
        assertEquals("o: big must be an integer of at most 2147483647, got '3000000000'",
                assertThrows(IllegalArgumentException.class, () -> s.integer("big", 0)).getMessage());
        assertEquals(3, s.integer("w", 0));
        assertEquals(3_000_000_000L, s.whole("big", 0));
        assertEquals(7, s.integer("absent", 7, 1));
    }

    @Test
    void overridesSplitAtCommasThatStartAKeyOnly() {
        assertEquals(Map.of("teacher.depths", "3,4,6,3", "seed", "2", "lr", "1e-3"), Keys.overrides("teacher.depths=3,4,6,3, seed = 2,lr=1e-3"));
        assertEquals(List.of("b", "a"), List.copyOf(Keys.overrides("b=1,a=2").keySet()), "in the order given");
        var missing = assertThrows(IllegalArgumentException.class, () -> Keys.overrides("seed"));
        assertEquals("--set expects key=value pairs separated by commas, got 'seed'", missing.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Keys.overrides("=3"));
    }
}
