# settlement/: FERC Order 2222 settlement.  Uses server/ only.
LIB_SRCS += $(wildcard settlement/*.c)
