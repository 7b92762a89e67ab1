/** TransKD's GL-Mixer distiller, a refinement of PEA's stage input, and its parity case. */
package dev.retort.distill.glmixer;
