package dev.retort.web;

import java.util.Locale;

/**
 * Which {@code Host} headers a server bound to the loopback interface answers. A page of another site can point a
 * name it controls at 127.0.0.1 (DNS rebinding) and then read the answers as its own origin; its requests still
 * carry that name, so answering only loopback names closes the hole.
 */
final class HostCheck {
    private final boolean loopbackOnly;

    /** @param loopbackOnly the server listens on a loopback address only; otherwise every host name is answered */
    HostCheck(boolean loopbackOnly) {
        this.loopbackOnly = loopbackOnly;
    }

    boolean allows(String hostHeader) {
        if (!loopbackOnly) return true;
        if (hostHeader == null || hostHeader.isBlank()) return false;
        String host = hostHeader.strip().toLowerCase(Locale.ROOT);
        if (host.startsWith("[")) {
            int end = host.indexOf(']');
            return end > 0 && host.substring(0, end + 1).equals("[::1]");
        }
        int colon = host.indexOf(':');
        if (colon >= 0) host = host.substring(0, colon);
        // numeric 127.x.y.z only: a name such as 127.example.org is exactly what a rebinding page would use
        return host.equals("localhost") || host.matches("127(\\.\\d{1,3}){3}");
    }
}
