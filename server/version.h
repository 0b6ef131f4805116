/*
 * server/version.h
 *	  The release version of dermsd and dermsctl.
 */
#ifndef DERMS_VERSION_H
#define DERMS_VERSION_H

#define DERMS_VERSION "0.1.0"

#endif							/* DERMS_VERSION_H */
