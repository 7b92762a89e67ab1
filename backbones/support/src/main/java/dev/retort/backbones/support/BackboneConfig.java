package dev.retort.backbones.support;

import java.util.Map;

/** What {@link ConfiguredBackbone} reads of a family's architecture record. */
public interface BackboneConfig {
    /** The preset it was built from ({@code mit-b0}, …). */
    String variant();

    /** Output classes of the head. */
    int classes();

    /** Every architecture field under its configuration key, lists as text ({@code "32,64,160,256"}). */
    Map<String, Object> asMap();
}
