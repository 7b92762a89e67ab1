package dev.retort.distill.ea;

import dev.retort.api.parity.ParityCase;
import dev.retort.api.parity.ParityCases;
import java.util.List;
import java.util.Map;
import org.osgi.service.component.annotations.Component;

/**
 * EA's parity: the {@code ea.*} tensors of the TransKD module fixture, in evaluation mode. EA refines PEA's
 * projections, so the case builds PEA (its defaults) with it; the fixture calls PEA's blended projections
 * {@code ea.out.s}.
 */
@Component(service = ParityCases.class, property = ParityCases.FIXTURE_PROPERTY + "=" + EaParity.FIXTURE)
public class EaParity implements ParityCases {
    static final String FIXTURE = "transkd-modules";

    @Override
    public List<ParityCase> cases() {
        return List.of(new ParityCase(FIXTURE, EaDistiller.NAME,
                List.of(new ParityCase.Module("pea", Map.of()), new ParityCase.Module(EaDistiller.NAME, Map.of())), false, Map.of("pea.out.", "ea.out.")));
    }
}
