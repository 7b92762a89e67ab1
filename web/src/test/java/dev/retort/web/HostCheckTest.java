package dev.retort.web;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HostCheckTest {
    private final HostCheck loopback = new HostCheck(true);

    @Test
    void loopbackNamesAreAnswered() {
        for (String h : new String[] {"127.0.0.1:8080", "localhost:8080", "LOCALHOST", "127.0.0.1", "127.1.2.3:80", "[::1]:8080"}) {
            assertTrue(loopback.allows(h), h);
        }
    }

    @Test
    void anyOtherNameIsRefusedSoThatARebindingPageCannotReadTheAnswers() {
        for (String h : new String[] {"evil.example:8080", "127.evil.example", "localhost.evil.example", "[::2]:8080", "", " ", null, "10.0.0.1:8080"}) {
            assertFalse(loopback.allows(h), String.valueOf(h));
        }
    }

    @Test
    void aServerOnAnotherAddressAnswersEveryName() {
        assertTrue(new HostCheck(false).allows("my-workstation.lab:8080"));
    }
}
