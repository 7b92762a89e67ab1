package dev.retort.distill.glmixer;

import dev.retort.api.parity.ParityCase;
import dev.retort.api.parity.ParityCases;
import java.util.List;
import java.util.Map;
import org.osgi.service.component.annotations.Component;

/**
 * GL-Mixer's parity: the {@code glmixer.*} tensors of the TransKD module fixture, in evaluation mode. GL-Mixer refines
 * PEA's stage-4 input, so the case builds PEA on stage 4 alone (weight 1) with it; the fixture calls PEA's refined
 * projection {@code glmixer.out.4}.
 */
@Component(service = ParityCases.class, property = ParityCases.FIXTURE_PROPERTY + "=" + GlMixerParity.FIXTURE)
public class GlMixerParity implements ParityCases {
    static final String FIXTURE = "transkd-modules";

    @Override
    public List<ParityCase> cases() {
        return List.of(new ParityCase(FIXTURE, GlMixerDistiller.NAME,
                List.of(new ParityCase.Module("pea", Map.of("stages", "4", "weights", "0,0,0,1.0")), new ParityCase.Module(GlMixerDistiller.NAME, Map.of())),
                false, Map.of("pea.out.4", "glmixer.out.4")));
    }
}
