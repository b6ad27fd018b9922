#!/usr/bin/perl
# assemble-sql.pl [--previous SCRIPT] SOURCE > SCRIPT
#
# Writes an extension script from its source: every line "\ir PATH" is
# replaced by the file at PATH (relative to the including file), itself
# expanded the same way.  The sources under sql/src/ keep one definition
# of each object; the Makefile assembles the scripts of the version in
# development from them.
#
# The files say CREATE OR REPLACE (FUNCTION|VIEW) so that an update can
# include them; a script creates with a plain CREATE every object the
# extension does not already own (STYLE.md): all of them in a fresh install,
# and in an update (--previous names the install script of the version it
# starts from) those the previous version did not have or that the update
# dropped before including them.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Spec;

my %seen;
my $update;		# assembling an update script (--previous given)
my %owned;		# analytics.NAME of functions and views the extension owns now

sub expand {
	my ($path, $depth) = @_;
	die "assemble-sql: $path: includes nest too deep\n" if $depth > 8;
	open(my $fh, '<', $path) or die "assemble-sql: cannot read $path: $!\n";
	while (my $line = <$fh>) {
		if ($line =~ /^\\ir\s+(\S+)\s*$/) {
			my $inc = File::Spec->catfile(dirname($path), $1);
			die "assemble-sql: $path includes $inc twice\n" if $seen{$inc}++;
			expand($inc, $depth + 1);
			next;
		}
		if ($line =~ /^DROP (?:FUNCTION|AGGREGATE|VIEW|MATERIALIZED VIEW) (analytics\.\w+)/) {
			delete $owned{$1};
		}
		if ($line =~ /^CREATE OR REPLACE (FUNCTION|VIEW) (analytics\.\w+)/) {
			my ($kind, $name) = ($1, $2);
			$line =~ s/^CREATE OR REPLACE /CREATE / unless $update && $owned{$name};
			$owned{$name} = 1;
		}
		elsif ($line =~ /^CREATE (?:FUNCTION|VIEW|MATERIALIZED VIEW) (analytics\.\w+)/) {
			$owned{$1} = 1;
		}
		print $line;
	}
	close($fh);
}

my $previous;
if (@ARGV && $ARGV[0] eq '--previous') {
	shift @ARGV;
	$previous = shift @ARGV;
	$update = 1;
}
die "usage: assemble-sql.pl [--previous SCRIPT] SOURCE\n" unless @ARGV == 1;
if (defined $previous) {
	open(my $fh, '<', $previous) or die "assemble-sql: cannot read $previous: $!\n";
	while (my $line = <$fh>) {
		$owned{$1} = 1
			if $line =~ /^CREATE (?:OR REPLACE )?(?:FUNCTION|VIEW|MATERIALIZED VIEW) (analytics\.\w+)/;
	}
	close($fh);
}
expand($ARGV[0], 0);
