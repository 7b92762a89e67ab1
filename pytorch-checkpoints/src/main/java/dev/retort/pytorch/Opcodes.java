package dev.retort.pytorch;

/** Names of pickle opcodes, so that a refusal says which one it met. */
final class Opcodes {
    private Opcodes() {}

    static String name(int op) {
        return switch (op) {
            case '(' -> "MARK"; case '.' -> "STOP"; case '0' -> "POP"; case '1' -> "POP_MARK"; case '2' -> "DUP";
            case 'F' -> "FLOAT"; case 'I' -> "INT"; case 'J' -> "BININT"; case 'K' -> "BININT1"; case 'L' -> "LONG";
            case 'M' -> "BININT2"; case 'N' -> "NONE"; case 'P' -> "PERSID"; case 'Q' -> "BINPERSID"; case 'R' -> "REDUCE";
            case 'S' -> "STRING"; case 'T' -> "BINSTRING"; case 'U' -> "SHORT_BINSTRING"; case 'V' -> "UNICODE";
            case 'X' -> "BINUNICODE"; case 'a' -> "APPEND"; case 'b' -> "BUILD"; case 'c' -> "GLOBAL"; case 'd' -> "DICT";
            case '}' -> "EMPTY_DICT"; case 'e' -> "APPENDS"; case 'g' -> "GET"; case 'h' -> "BINGET"; case 'i' -> "INST";
            case 'j' -> "LONG_BINGET"; case 'l' -> "LIST"; case ']' -> "EMPTY_LIST"; case 'o' -> "OBJ"; case 'p' -> "PUT";
            case 'q' -> "BINPUT"; case 'r' -> "LONG_BINPUT"; case 's' -> "SETITEM"; case 't' -> "TUPLE"; case ')' -> "EMPTY_TUPLE";
            case 'u' -> "SETITEMS"; case 'G' -> "BINFLOAT"; case 0x80 -> "PROTO"; case 0x81 -> "NEWOBJ"; case 0x82 -> "EXT1";
            case 0x83 -> "EXT2"; case 0x84 -> "EXT4"; case 0x85 -> "TUPLE1"; case 0x86 -> "TUPLE2"; case 0x87 -> "TUPLE3";
            case 0x88 -> "NEWTRUE"; case 0x89 -> "NEWFALSE"; case 0x8a -> "LONG1"; case 0x8b -> "LONG4"; case 'B' -> "BINBYTES";
            case 'C' -> "SHORT_BINBYTES"; case 0x8c -> "SHORT_BINUNICODE"; case 0x8d -> "BINUNICODE8"; case 0x8e -> "BINBYTES8";
            case 0x8f -> "EMPTY_SET"; case 0x90 -> "ADDITEMS"; case 0x91 -> "FROZENSET"; case 0x92 -> "NEWOBJ_EX";
            case 0x93 -> "STACK_GLOBAL"; case 0x94 -> "MEMOIZE"; case 0x95 -> "FRAME"; case 0x96 -> "BYTEARRAY8";
            case 0x97 -> "NEXT_BUFFER"; case 0x98 -> "READONLY_BUFFER";
            default -> "an unknown opcode";
        };
    }
}
