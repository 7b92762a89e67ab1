/** MasKD (masked distillation with receptive tokens, ICLR 2023) as a distiller bundle, with its token-learning preparation phase. */
package dev.retort.distill.maskd;
