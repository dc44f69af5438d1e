// Placeholder until the SCEP protocol layer lands.
import CMS
