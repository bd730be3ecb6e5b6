"""Reads the model inputs and outputs of a zkml-evm proof.json from its public inputs, packed
(`compile --pack-public on`) or not: the same decoding as contracts/src/PublicValues.sol and
the generated PublicInputs.sol. Used by the fixture scripts; standard library only."""


def slot_bits(proof):
    """Bits per packed slot (PublicInputs.sol's SLOT_BITS); 0 when values are unpacked."""
    if not any(".." in name for name in proof["public_layout"]):
        return 0
    # Encoded values lie in [1, 2^range_bits] with offset = 2^(range_bits-1) + 1.
    range_bits = (proof["public_offset"] - 1).bit_length()
    return range_bits + 1


def decode(proof, tensor):
    """The encoded values (value * 2^scale_bits + public_offset) of `tensor` ("input" or
    "output"), in order, for every inference of the proof."""
    bits = slot_bits(proof)
    values = []
    for name, word in zip(proof["public_layout"], proof["public_inputs"]):
        base, _, index = name.partition("[")
        if base != tensor:
            continue
        word = int(word, 16)
        if ".." not in index:
            values.append(word)
            continue
        first, end = (int(x) for x in index.rstrip("]").split(".."))
        n = end - first
        values.extend((word >> (bits * (n - 1 - i))) & ((1 << bits) - 1) for i in range(n))
    return values
