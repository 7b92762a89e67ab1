package dev.retort.distill.pea;

import dev.retort.api.parity.ParityCase;
import dev.retort.api.parity.ParityCases;
import java.util.List;
import java.util.Map;
import org.osgi.service.component.annotations.Component;

/** PEA's parity: the {@code pea.*} tensors of the TransKD module fixture, PEA alone with its defaults, evaluation mode. */
@Component(service = ParityCases.class, property = ParityCases.FIXTURE_PROPERTY + "=" + PeaParity.FIXTURE)
public class PeaParity implements ParityCases {
    static final String FIXTURE = "transkd-modules";

    @Override
    public List<ParityCase> cases() {
        return List.of(new ParityCase(FIXTURE, PeaDistiller.NAME, List.of(new ParityCase.Module(PeaDistiller.NAME, Map.of())), false, Map.of()));
    }
}
