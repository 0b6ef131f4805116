# dispatch/: the fleet dispatch optimizer.  Uses server/ only.
LIB_SRCS += $(wildcard dispatch/*.c)
