package dev.retort.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TokenTest {
    @Test
    void aRandomTokenIs128BitsOfHexAndMatchesItselfOnly() {
        Token t = Token.random();
        assertTrue(t.value().matches("[0-9a-f]{32}"), t.value());
        assertNotEquals(t.value(), Token.random().value());
        assertTrue(t.matches(t.value()));
        assertFalse(t.matches(t.value().substring(1)));
        assertFalse(t.matches(t.value().toUpperCase().equals(t.value()) ? t.value() + "0" : t.value().toUpperCase()));
        assertFalse(t.matches(""));
        assertFalse(t.matches(null));
    }

    @Test
    void aShortTokenIsRefused() {
        assertEquals("a token needs at least 16 characters", assertThrows(IllegalArgumentException.class, () -> new Token("abc")).getMessage());
    }
}
