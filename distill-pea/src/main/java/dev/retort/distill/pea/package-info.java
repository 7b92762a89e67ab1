/** TransKD's PEA distiller (Patch Embedding Alignment), which offers the ports GL-Mixer and EA refine, and its parity case. */
package dev.retort.distill.pea;
