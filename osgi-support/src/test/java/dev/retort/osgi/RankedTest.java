package dev.retort.osgi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Constants;

class RankedTest {
    private static Map<String, Object> props(long id, Integer ranking, Object variants) {
        return ranking == null ? Map.of(Constants.SERVICE_ID, id, "v", variants)
                : Map.of(Constants.SERVICE_ID, id, Constants.SERVICE_RANKING, ranking, "v", variants);
    }

    @Test
    void highestRankingFirstThenOldest() {
        Ranked<String> r = new Ranked<>();
        r.bind("builtin", props(5, null, new String[] {"a", "b"}));
        r.bind("older-builtin", props(3, null, new String[] {"a"}));
        r.bind("third-party", props(9, 10, "a"));
        assertEquals(List.of("third-party", "older-builtin", "builtin"), r.all().stream().map(Ranked.Entry::service).toList());
        assertEquals("third-party", r.withProperty("v", "a").orElseThrow());
        assertEquals("builtin", r.withProperty("v", "b").orElseThrow());
        assertEquals(List.of("a", "b"), r.values("v"));
    }

    @Test
    void updateMovesAndUnbindRemoves() {
        Ranked<String> r = new Ranked<>();
        r.bind("x", props(1, null, "a"));
        r.bind("y", props(2, null, "a"));
        r.bind("y", props(2, 5, "a"));  // ranking raised by a properties update
        assertEquals("y", r.withProperty("v", "a").orElseThrow());
        assertEquals(2, r.all().size());
        r.unbind(props(2, 5, "a"));
        assertEquals("x", r.withProperty("v", "a").orElseThrow());
        r.unbind(props(1, null, "a"));
        assertTrue(r.withProperty("v", "a").isEmpty());
    }

    @Test
    void filterEscapesSpecialCharacters() {
        assertEquals("(retort.dataset=a\\(b\\)\\*)", ServiceLookup.equalsFilter("retort.dataset", "a(b)*"));
    }
}
