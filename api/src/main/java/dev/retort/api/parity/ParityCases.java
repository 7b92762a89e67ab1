package dev.retort.api.parity;

import java.util.List;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * The parity cases a bundle brings with its distillers, registered as a service: a parity checker finds every case
 * through these services and never needs to know a module by name. Implemented by distiller bundles (also
 * third-party ones), hence {@code @ConsumerType}.
 */
@ConsumerType
public interface ParityCases {
    /**
     * Service property: the fixture stems the cases check ({@link ParityCase#fixture()}), so that a checker can ask
     * only for the services of the fixtures it holds.
     */
    String FIXTURE_PROPERTY = "retort.parity.fixture";

    /** The cases, each checking one group of a fixture's tensors. */
    List<ParityCase> cases();
}
