/** TransKD's GL-Mixer distiller, a refinement of PEA's stage input. */
package dev.retort.distill.glmixer;
