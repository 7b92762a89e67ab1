/**
 * The {@code mit} backbone family: MiT-B0 … B5 encoders with the SegFormer all-MLP head, built from blocks (patch
 * embedding, efficient self-attention, Mix-FFN, transformer block, stage, head) that each own their name prefix,
 * parameters, forward and cost; weights in the reference and the Hugging Face namings.
 */
package dev.retort.backbones.mit;
